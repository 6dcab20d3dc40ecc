"""Training machinery: multi-optimizer construction, generator export, adversarial training."""
from .adversarial import PGDAdversarialTraining
from .hooks import GeneratorExportHook
from .optimizers import PerModuleOptimWrapperConstructor

__all__ = ['GeneratorExportHook', 'PGDAdversarialTraining', 'PerModuleOptimWrapperConstructor']
