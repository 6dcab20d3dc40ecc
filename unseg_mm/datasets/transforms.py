"""Data transforms registered in mmengine's root TRANSFORMS (found from mmseg and mmdet scopes)."""
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from mmengine.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadBinaryMask(BaseTransform):
    """Load a single-object mask (``results['mask_path']``) as a 0/1 ``gt_seg_map``.

    Pixels above ``threshold`` (0-255 scale) are the object. The mask must match the image size.

    Added keys: ``gt_seg_map`` (uint8 H x W), ``seg_fields``.
    """

    def __init__(self, threshold: int = 127) -> None:
        self.threshold = threshold

    def transform(self, results: dict) -> dict:
        path = results['mask_path']
        try:
            mask = mmcv.imfrombytes(get(path), flag='grayscale', backend='pillow')
        except Exception as exc:
            raise OSError(f'cannot read mask {path!r}: {exc}') from exc
        if mask is None:
            raise OSError(f'cannot decode mask {path!r}; is it a valid PNG?')
        img_shape = results.get('img_shape', mask.shape[:2])
        if tuple(mask.shape[:2]) != tuple(img_shape[:2]):
            raise ValueError(f'mask {path!r} is {mask.shape[0]}x{mask.shape[1]} but its image '
                             f'{results.get("img_path")!r} is {img_shape[0]}x{img_shape[1]}')
        results['gt_seg_map'] = (mask > self.threshold).astype(np.uint8)
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(threshold={self.threshold})'
