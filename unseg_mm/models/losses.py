"""SAM-HQ's mask loss: BCE + Dice on uncertainty-sampled points (PointRend-style sampling)."""
import torch
import torch.nn.functional as F
from mmcv.ops import point_sample
from mmdet.models.utils import get_uncertain_point_coords_with_randomness


def point_sampled_mask_loss(logits: torch.Tensor, targets: torch.Tensor, num_points: int,
                            oversample_ratio: float = 3.0,
                            importance_sample_ratio: float = 0.75) -> torch.Tensor:
    """Mean over masks of (sigmoid BCE + Dice) at ``num_points`` sampled locations.

    Points are drawn uniformly from ``oversample_ratio * num_points`` candidates, keeping the
    ``importance_sample_ratio`` most uncertain (logit closest to 0) plus random ones, as SAM-HQ and
    Mask2Former train their masks.

    Args:
        logits: B x 1 x h x w mask logits.
        targets: B x 1 x H x W targets in [0, 1] (soft labels allowed); H, W may differ from h, w.
    """
    with torch.no_grad():
        coords = get_uncertain_point_coords_with_randomness(
            logits, None, num_points, oversample_ratio, importance_sample_ratio)
        point_targets = point_sample(targets, coords, align_corners=False).squeeze(1)
    point_logits = point_sample(logits, coords, align_corners=False).squeeze(1)
    bce = F.binary_cross_entropy_with_logits(point_logits, point_targets, reduction='none')
    probs = point_logits.sigmoid()
    dice = 1 - (2 * (probs * point_targets).sum(-1) + 1) / (probs.sum(-1) + point_targets.sum(-1)
                                                           + 1)
    return bce.mean(-1).mean() + dice.mean()
