"""Datasets, synthetic mini datasets, prompt extraction and data transforms."""
from .folder import FolderMaskDataset
from .hqseg import HQSegDataset
from .protect_transform import UnSegProtect
from .transforms import LoadBinaryMask

__all__ = ['FolderMaskDataset', 'HQSegDataset', 'LoadBinaryMask', 'UnSegProtect']
