"""The last step every protection shares: from a perturbed float image to the published uint8 one.

UnSeg's generator (:func:`unseg_mm.apis.protect.apply_pattern`) and every baseline
(:mod:`unseg_mm.apis.baselines`) end here, so they agree on what is published and on what is
measured: pixels of ``keep_clean`` (objects of classes a partial protection leaves alone) outside
the protected objects are restored, values are rounded half to even and clipped to [0, 255], and
the change is measured (L-inf, grey levels) inside the union of the objects and elsewhere.
"""
from typing import Optional, Tuple

import cv2
import numpy as np

from ..structures import ImagePrompts, ProtectResult


def object_union(prompt: ImagePrompts, shape: Tuple[int, int]) -> np.ndarray:
    """H x W bool mask of the union of the prompt's objects (all False without objects)."""
    region = np.zeros(shape, bool)
    for obj in prompt.objects:
        region |= obj.astype(bool)
    return region


def region_linf(original: np.ndarray, published: np.ndarray,
                region: np.ndarray) -> Tuple[int, int]:
    """Largest change (grey levels, over channels) inside ``region`` and outside it."""
    # uint8 |published - original|, exact (cv2 wants positive strides: views are copied)
    diff = cv2.absdiff(np.ascontiguousarray(published), np.ascontiguousarray(original))
    diff = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])
    return int(np.where(region, diff, 0).max()), int(np.where(region, 0, diff).max())


def publish(image: np.ndarray, changed: np.ndarray, prompt: ImagePrompts,
            region: Optional[np.ndarray] = None) -> ProtectResult:
    """Publish ``changed`` (the float H x W x 3 image after the perturbation, grey levels) as the
    protected version of the uint8 ``image``.

    ``changed`` is modified in place (``keep_clean`` pixels restored). ``region``: the union of the
    objects when the caller has it already.
    """
    if region is None:
        region = object_union(prompt, image.shape[:2])
    if prompt.keep_clean is not None:
        keep = prompt.keep_clean.astype(bool) & ~region
        changed[keep] = image[keep]
    np.rint(changed, out=changed)
    published = np.clip(changed, 0, 255, out=changed).astype(np.uint8)
    return ProtectResult(published, *region_linf(image, published, region), len(prompt.objects))
