"""unseg_mm: UnSeg unlearnable examples for image segmentation on the OpenMMLab 2.x stack.

Importing the package applies the upstream work-arounds of :mod:`unseg_mm.compat` and registers
unseg_mm's models, datasets, transforms and hooks in mmengine's root registries, where both
``default_scope='mmseg'`` and ``default_scope='mmdet'`` lookups find them.
"""
from . import compat

compat.apply_all()

from . import datasets, engine, models  # noqa: E402,F401  (registers unseg_mm's modules)

__version__ = '0.1.0'
