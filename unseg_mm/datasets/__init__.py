"""Datasets, synthetic mini datasets, prompt extraction and data transforms."""
from .defences import (BitDepthReduction, GaussianFilter, GrayscaleDefence, JPEGCompression,
                       MedianFilter)
from .folder import FolderMaskDataset
from .hqseg import HQSegDataset
from .protect_transform import UnSegProtect
from .transforms import LoadBinaryMask

__all__ = [
    'BitDepthReduction', 'FolderMaskDataset', 'GaussianFilter', 'GrayscaleDefence', 'HQSegDataset',
    'JPEGCompression', 'LoadBinaryMask', 'MedianFilter', 'UnSegProtect'
]
