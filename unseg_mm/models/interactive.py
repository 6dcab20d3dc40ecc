"""InteractiveSegmentor: train a SAM-architecture model alone on (clean or protected) masks.

Used to pre-train the tiny SAM that the tiny generator freezes, and to measure the protection
itself: a fresh surrogate trained on protected images, evaluated on clean ones.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from mmengine.structures import PixelData

from .losses import point_sampled_mask_loss
from .perturbation import budget_region
from .prompts import sample_prompts


@MODELS.register_module()
class InteractiveSegmentor(BaseModel):
    """A :class:`SAMSurrogate` trained with SAM-HQ's mask loss from sampled prompts.

    Args:
        segmentor: config of the SAM-architecture model (``SAMSurrogate``).
        data_preprocessor: config of ``UnSegDataPreprocessor`` with ``size`` = the model's input.
        train_prompt_types: prompt types drawn from (one per batch) during training.
        val_prompt: prompt type at validation/test.
        num_prompt_points, loss_points, oversample_ratio, importance_sample_ratio: as
            :class:`UnSegBilevel`.
    """

    def __init__(self,
                 segmentor: dict,
                 data_preprocessor: Optional[dict] = None,
                 train_prompt_types: Sequence[str] = ('box', 'point', 'mask'),
                 val_prompt: str = 'box',
                 num_prompt_points: int = 10,
                 loss_points: int = 112 * 112,
                 oversample_ratio: float = 3.0,
                 importance_sample_ratio: float = 0.75,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.segmentor = MODELS.build(segmentor)
        self.train_prompt_types = tuple(train_prompt_types)
        self.val_prompt = val_prompt
        self.num_prompt_points = num_prompt_points
        self.loss_cfg = dict(num_points=loss_points, oversample_ratio=oversample_ratio,
                             importance_sample_ratio=importance_sample_ratio)

    def _resize(self, images: torch.Tensor, masks: torch.Tensor):
        size = self.segmentor.img_size
        if images.shape[-1] != size:
            images = F.interpolate(images, size=(size, size), mode='bilinear',
                                   align_corners=False)
            masks = F.interpolate(masks, size=(size, size), mode='bilinear', align_corners=False)
        return images, masks

    def forward(self, images: torch.Tensor, masks: torch.Tensor, data_samples: List = None,
                mode: str = 'loss'):
        frame_size = images.shape[-2:]
        images, soft = self._resize(images, masks)
        hard = budget_region(soft, soft.shape[-2:])
        if mode == 'loss':
            order = torch.randperm(len(self.train_prompt_types)).tolist()
            types = (self.train_prompt_types[order[0]], )
            logits = self.segmentor(images, sample_prompts(hard, types, self.num_prompt_points))
            return dict(loss_mask=point_sampled_mask_loss(logits, soft, **self.loss_cfg))
        if mode != 'predict':
            raise ValueError(f'unsupported mode {mode!r}')
        logits = self.segmentor(images, sample_prompts(hard, (self.val_prompt, ),
                                                       self.num_prompt_points))
        logits = F.interpolate(logits, size=frame_size, mode='bilinear', align_corners=False)
        for sample, logit in zip(data_samples, logits):
            h, w = sample.gt_sem_seg.shape
            sample.pred_sem_seg = PixelData(data=(logit[:, :h, :w] > 0).long())
        return data_samples

