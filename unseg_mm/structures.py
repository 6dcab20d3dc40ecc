"""Plain data types shared by the protection core (``unseg_mm.apis``) and the data pipeline
(``unseg_mm.datasets``). No imports from either, so both can import it at module level."""
import os.path as osp
from dataclasses import dataclass, field, replace
from typing import Iterable, List, Optional, Tuple

import numpy as np


@dataclass
class ImagePrompts:
    """What protection knows about one image, from its annotations.

    Attributes:
        objects: binary H x W masks of the objects to protect (instances or class regions).
        labels: class id of each object (as loaded; -1 unknown). UnSeg is class-agnostic; the
            class-wise baselines draw each object's noise from its class.
        keep_clean: optional H x W mask of pixels to leave untouched (objects of classes that
            partial protection does not cover).
    """
    objects: List[np.ndarray] = field(default_factory=list)
    labels: List[int] = field(default_factory=list)
    keep_clean: Optional[np.ndarray] = None

    def label_of(self, index: int) -> int:
        return int(self.labels[index]) if index < len(self.labels) else -1


@dataclass
class ProtectResult:
    """A published image and what was done to it."""
    image: np.ndarray
    linf_object: int
    linf_background: int
    num_objects: int


@dataclass(frozen=True)
class LabelRules:
    """Which annotation labels of a dataset format become objects to protect.

    Attributes:
        ignore_labels: labels that are never objects (255: unlabelled / ignore).
        background_labels: semantic labels that are not objects (VOC's 0, a binary mask's 0).
        objects_required: an annotation without any object is an error (binary-mask formats:
            an empty mask means the annotation is missing or broken), not an image to leave clean.
    """
    ignore_labels: Tuple[int, ...] = (255, )
    background_labels: Tuple[int, ...] = ()
    objects_required: bool = False

    def with_background(self, labels: Iterable[int]) -> 'LabelRules':
        """These rules with ``labels`` added to the background labels (e.g. stuff classes that
        are protected as background instead of prompted)."""
        return replace(self, background_labels=tuple(sorted(
            set(self.background_labels) | set(labels))))


def sample_key(img_path: str) -> str:
    """The key of an image for everything decided per image (its seed, whether a mixed run keeps
    it clean): the file name. The offline tool and the transform both use it, so they make the
    same choices for the same file, whatever folder the dataset is read from."""
    return osp.basename(img_path)


__all__ = ['ImagePrompts', 'ProtectResult', 'LabelRules', 'sample_key']
