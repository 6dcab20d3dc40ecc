"""Object prompts (box, points, mask) for SAM-architecture models, and how training samples them.

Coordinates are pixels (x, y) of the model's square input frame; masks are float {0, 1} maps of
any resolution (resized to the prompt encoder's mask input when used).
"""
from dataclasses import dataclass, replace
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

PROMPT_TYPES = ('box', 'point', 'mask')


@dataclass
class Prompts:
    """A batch of prompt sets, one per image; any field may be None (not used).

    Attributes:
        boxes: B x 4, (x1, y1, x2, y2) pixels.
        point_coords: B x N x 2 (x, y) pixels.
        point_labels: B x N; 1 foreground, 0 background, -1 padding (ignored).
        masks: B x 1 x H x W in {0, 1}.
    """
    boxes: Optional[torch.Tensor] = None
    point_coords: Optional[torch.Tensor] = None
    point_labels: Optional[torch.Tensor] = None
    masks: Optional[torch.Tensor] = None

    def __post_init__(self) -> None:
        if (self.point_coords is None) != (self.point_labels is None):
            raise ValueError('point prompts need both point_coords and point_labels')
        if self.boxes is None and self.point_coords is None and self.masks is None:
            raise ValueError('a prompt needs at least one of boxes, points or masks')
        sizes = {t.shape[0] for t in (self.boxes, self.point_coords, self.masks) if t is not None}
        if len(sizes) != 1:
            raise ValueError(f'prompt fields disagree on the batch size: {sorted(sizes)}')
        if self.boxes is not None and (self.boxes.ndim != 2 or self.boxes.shape[1] != 4):
            raise ValueError(f'boxes must be B x 4 (x1, y1, x2, y2), got {tuple(self.boxes.shape)}')
        if self.point_coords is not None and (self.point_coords.ndim != 3
                                              or self.point_coords.shape[2] != 2):
            raise ValueError(f'point_coords must be B x N x 2, got '
                             f'{tuple(self.point_coords.shape)}')
        if self.masks is not None and self.masks.ndim != 4:
            raise ValueError(f'masks must be B x 1 x H x W, got {tuple(self.masks.shape)}')

    @property
    def batch_size(self) -> int:
        for t in (self.boxes, self.point_coords, self.masks):
            if t is not None:
                return t.shape[0]
        raise AssertionError('unreachable: validated in __post_init__')

    def rescaled(self, factor: float) -> 'Prompts':
        """The same prompts in a frame ``factor`` times as large (masks are resized later)."""
        return replace(
            self,
            boxes=None if self.boxes is None else self.boxes * factor,
            point_coords=None if self.point_coords is None else self.point_coords * factor)

    def to(self, device) -> 'Prompts':
        return Prompts(*(None if t is None else t.to(device) for t in
                         (self.boxes, self.point_coords, self.point_labels, self.masks)))


def encode_prompts(prompt_encoder, prompts: Prompts, mask_prompt_value: float
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """SAM prompt encoder outputs (sparse B x N x C, dense B x C x h x w) for ``prompts``.

    Binary mask prompts are resized to the encoder's mask input size (bilinear, then rounded) and
    multiplied by ``mask_prompt_value``: UnSeg feeds 0/255 masks where SAM expects logits.
    """
    points = None
    if prompts.point_coords is not None:
        points = (prompts.point_coords.float(), prompts.point_labels.long())
    masks = None
    if prompts.masks is not None:
        size = prompt_encoder.mask_input_size
        masks = F.interpolate(prompts.masks.float(), size=size, mode='bilinear',
                              align_corners=False).round() * mask_prompt_value
    return prompt_encoder(points=points, boxes=prompts.boxes, masks=masks)


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Tight (x1, y1, x2, y2) boxes of B x 1 x H x W masks; an empty mask gives a zero box."""
    b, _, h, w = masks.shape
    fg = masks[:, 0] > 0.5
    rows = fg.any(dim=2)  # B x H
    cols = fg.any(dim=1)  # B x W
    ys = torch.arange(h, device=masks.device).expand(b, h)
    xs = torch.arange(w, device=masks.device).expand(b, w)
    big = torch.tensor(max(h, w), device=masks.device)
    y1 = torch.where(rows, ys, big).min(1).values
    y2 = torch.where(rows, ys, -1).max(1).values
    x1 = torch.where(cols, xs, big).min(1).values
    x2 = torch.where(cols, xs, -1).max(1).values
    boxes = torch.stack([x1, y1, x2 + 1, y2 + 1], 1).float()
    return torch.where(fg.flatten(1).any(1, keepdim=True), boxes, torch.zeros_like(boxes))


def sample_points(masks: torch.Tensor, num_points: int,
                  generator: Optional[torch.Generator] = None
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``num_points`` foreground pixel centres per mask, uniformly at random.

    Returns coords B x N x 2 (x, y) and labels B x N (1, or -1 padding for an empty mask).
    """
    b, _, h, w = masks.shape
    fg = (masks[:, 0] > 0.5).flatten(1).float()
    has_fg = fg.sum(1) > 0
    weights = torch.where(has_fg[:, None], fg, torch.ones_like(fg))
    idx = torch.multinomial(weights.cpu(), num_points, replacement=True,
                            generator=generator).to(masks.device)
    coords = torch.stack([idx % w, idx // w], dim=-1).float() + 0.5
    labels = torch.where(has_fg[:, None], 1, -1).expand(b, num_points).long()
    return coords, labels


def noisy_masks(masks: torch.Tensor, generator: Optional[torch.Generator] = None,
                scale: int = 8) -> torch.Tensor:
    """Perturb mask boundaries like an imperfect previous prediction (Transfiner-style).

    Pixels where the mask differs from its 1/``scale`` down-up-sampled version (the boundary band)
    receive unit Gaussian noise before re-thresholding at 0.5.
    """
    h, w = masks.shape[-2:]
    small = F.interpolate(masks, size=(max(1, h // scale), max(1, w // scale)), mode='bilinear',
                          align_corners=False)
    band = ((masks - F.interpolate(small, size=(h, w), mode='bilinear', align_corners=False)
             ).abs() >= 0.01).float()
    noise = torch.randn(masks.shape, generator=generator).to(masks.device)
    return ((masks + noise * band) > 0.5).float()


def sample_prompts(masks: torch.Tensor, types: Sequence[str], num_points: int = 10,
                   generator: Optional[torch.Generator] = None) -> Prompts:
    """Prompts of the given ``types`` ('box', 'point', 'mask') derived from B x 1 x H x W masks."""
    unknown = set(types) - set(PROMPT_TYPES)
    if unknown or not types:
        raise ValueError(f'prompt types must be a non-empty subset of {PROMPT_TYPES}, '
                         f'got {list(types)}')
    fields = {}
    if 'box' in types:
        fields['boxes'] = masks_to_boxes(masks)
    if 'point' in types:
        fields['point_coords'], fields['point_labels'] = sample_points(masks, num_points,
                                                                       generator)
    if 'mask' in types:
        fields['masks'] = noisy_masks(masks, generator)
    return Prompts(**fields)


def random_prompt_types(generator: torch.Generator, subset: bool) -> Tuple[str, ...]:
    """A random non-empty subset of PROMPT_TYPES (``subset``) or a single random type."""
    order = torch.randperm(len(PROMPT_TYPES), generator=generator).tolist()
    count = int(torch.randint(1, len(PROMPT_TYPES) + 1, (1, ), generator=generator)) \
        if subset else 1
    return tuple(PROMPT_TYPES[i] for i in sorted(order[:count]))
