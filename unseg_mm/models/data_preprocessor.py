"""Batching for the generator's training data: pad to the square model frame, BGR uint8 -> RGB [0, 1]."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import MODELS


@MODELS.register_module()
class UnSegDataPreprocessor(BaseDataPreprocessor):
    """Stack images and object masks, padded at the bottom/right to ``size`` x ``size`` with 0.

    UnSeg pads in pixel space with black before normalisation (the models normalise themselves),
    so padding here happens on [0, 1] images, not on normalised ones.

    Input ``data``: ``inputs`` (list of 3 x h x w uint8 BGR tensors, as mmcv loads images) and
    ``data_samples`` (``SegDataSample`` with ``gt_sem_seg`` holding the 0/1 object mask).
    Output: ``images`` B x 3 x S x S RGB in [0, 1], ``masks`` B x 1 x S x S in {0, 1},
    ``data_samples`` unchanged.
    """

    def __init__(self, size: int, non_blocking: Optional[bool] = False) -> None:
        super().__init__(non_blocking=non_blocking)
        self.size = size

    def _pad(self, tensor: torch.Tensor) -> torch.Tensor:
        h, w = tensor.shape[-2:]
        if h > self.size or w > self.size:
            raise ValueError(f'sample of size {h}x{w} exceeds the model frame {self.size}; '
                             f'resize it in the pipeline first')
        return F.pad(tensor, (0, self.size - w, 0, self.size - h), value=0)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        images = torch.stack([self._pad(img.float() / 255.0)[[2, 1, 0]]
                              for img in data['inputs']])
        samples = data['data_samples']
        masks = torch.stack([self._pad(s.gt_sem_seg.data.float()) for s in samples])
        return dict(images=images, masks=(masks > 0.5).float(), data_samples=samples)
