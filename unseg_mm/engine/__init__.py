"""Training machinery: multi-optimizer construction and generator export."""
from .hooks import GeneratorExportHook
from .optimizers import PerModuleOptimWrapperConstructor

__all__ = ['GeneratorExportHook', 'PerModuleOptimWrapperConstructor']
