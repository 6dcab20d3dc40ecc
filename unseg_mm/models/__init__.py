"""UnSeg models on segment-anything's modules (registered in mmengine's root MODELS)."""
from .bilevel import UnSegBilevel
from .data_preprocessor import UnSegDataPreprocessor
from .generator import UnSegGenerator
from .interactive import InteractiveSegmentor
from .noise_probe import NoiseProbe
from .prompts import Prompts
from .sam_builder import SAM_ARCHS
from .surrogate import SAMSurrogate

__all__ = ['UnSegBilevel', 'UnSegDataPreprocessor', 'UnSegGenerator', 'InteractiveSegmentor',
           'NoiseProbe', 'Prompts', 'SAM_ARCHS', 'SAMSurrogate']
