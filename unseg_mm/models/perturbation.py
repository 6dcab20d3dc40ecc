"""From the generator's [-1, 1] pattern to a perturbation with an L-inf budget per region."""
import torch
import torch.nn.functional as F


def region_budget(region: torch.Tensor, eps_object: float, eps_background: float) -> torch.Tensor:
    """Per-pixel L-inf budget: ``eps_object`` where ``region`` is 1, ``eps_background`` elsewhere.

    Budgets are in image-intensity units of the [0, 1] range (8/255 = eight grey levels).
    """
    return eps_object * region + eps_background * (1 - region)


def scale_noise(noise: torch.Tensor, region: torch.Tensor, eps_object: float,
                eps_background: float) -> torch.Tensor:
    """Upsample ``noise`` (B x 3 x h x w in [-1, 1]) to ``region``'s size and apply the budget.

    Args:
        region: B x 1 x H x W binary map of the prompted objects (the L-inf budget map).

    Returns:
        B x 3 x H x W perturbation with ``|delta| <= budget`` pixel-wise, in [0, 1] intensity units.
    """
    size = region.shape[-2:]
    if noise.shape[-2:] != size:
        noise = F.interpolate(noise, size=size, mode='bilinear', align_corners=False)
    return noise * region_budget(region, eps_object, eps_background)


def budget_region(masks: torch.Tensor, size) -> torch.Tensor:
    """Binary budget map at ``size`` from masks at any resolution (bilinear, then rounded)."""
    if masks.shape[-2:] != tuple(size):
        masks = F.interpolate(masks.float(), size=tuple(size), mode='bilinear',
                              align_corners=False)
    return masks.round()
