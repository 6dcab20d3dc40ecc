"""unseg_mm: UnSeg unlearnable examples for image segmentation on the OpenMMLab 2.x stack."""
__version__ = '0.1.0'
