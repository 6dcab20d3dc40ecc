"""The ``panopticapi`` names mmdet imports, for environments where panopticapi is not installed.

panopticapi (github.com/cocodataset/panopticapi) is not published on the package registry, yet
mmdet 3.3 needs ``rgb2id``/``id2rgb`` to load COCO panoptic PNGs and ``PQStat`` to compute PQ.
:func:`unseg_mm.compat.provide_panopticapi` registers this module's names under panopticapi's
module paths only when the real package is absent.

Definitions follow the COCO panoptic format (cocodataset.org/#format-data: a segment id is stored
in a PNG as ``id = R + 256 * G + 256^2 * B``) and panoptic quality (Kirillov et al., CVPR 2019):
per category ``PQ = sum(IoU of matched pairs) / (TP + FP/2 + FN/2)``, ``SQ = sum(IoU) / TP``,
``RQ = TP / (TP + FP/2 + FN/2)``, averaged over the categories that occur in ground truth or
predictions.
"""
from collections import defaultdict
from typing import Dict, Optional, Tuple

import numpy as np

VOID = 0
OFFSET = 256 * 256 * 256


def rgb2id(color: np.ndarray):
    """Segment ids from an H x W x 3 RGB array (or a single RGB triple)."""
    if isinstance(color, np.ndarray) and color.ndim == 3:
        if color.dtype == np.uint8:
            color = color.astype(np.int32)
        return color[..., 0] + 256 * color[..., 1] + 256 * 256 * color[..., 2]
    return int(color[0] + 256 * color[1] + 256 * 256 * color[2])


def id2rgb(id_map):
    """RGB encoding (uint8 H x W x 3, or a list for a scalar id) of segment ids."""
    if isinstance(id_map, np.ndarray):
        ids = id_map.copy()
        rgb = np.zeros(ids.shape + (3, ), dtype=np.uint8)
        for channel in range(3):
            rgb[..., channel] = ids % 256
            ids //= 256
        return rgb
    color = []
    for _ in range(3):
        color.append(id_map % 256)
        id_map //= 256
    return color


class PQStatCat:
    """Accumulated matches of one category: summed IoU of true positives, TP, FP, FN counts."""

    def __init__(self) -> None:
        self.iou = 0.0
        self.tp = 0
        self.fp = 0
        self.fn = 0

    def __iadd__(self, other: 'PQStatCat') -> 'PQStatCat':
        self.iou += other.iou
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        return self


class PQStat:
    """Per-category :class:`PQStatCat` accumulators, indexed by category id."""

    def __init__(self) -> None:
        self.pq_per_cat = defaultdict(PQStatCat)

    def __getitem__(self, category_id) -> PQStatCat:
        return self.pq_per_cat[category_id]

    def __iadd__(self, other: 'PQStat') -> 'PQStat':
        for category_id, stat in other.pq_per_cat.items():
            self.pq_per_cat[category_id] += stat
        return self

    def pq_average(self, categories: Dict[int, dict],
                   isthing: Optional[bool]) -> Tuple[dict, dict]:
        """Average PQ/SQ/RQ over ``categories`` (all, things only or stuff only).

        Returns:
            ``({'pq', 'sq', 'rq', 'n'}, {category_id: {'pq', 'sq', 'rq'}})``; a category with no
            ground-truth or predicted segment is reported as zeros and left out of the average.
        """
        pq = sq = rq = 0.0
        n = 0
        per_class = {}
        for category_id, info in categories.items():
            if isthing is not None and bool(info['isthing']) != isthing:
                continue
            stat = self.pq_per_cat[category_id]
            denominator = stat.tp + 0.5 * stat.fp + 0.5 * stat.fn
            if denominator == 0:
                per_class[category_id] = {'pq': 0.0, 'sq': 0.0, 'rq': 0.0}
                continue
            n += 1
            pq_class = stat.iou / denominator
            sq_class = stat.iou / stat.tp if stat.tp != 0 else 0.0
            rq_class = stat.tp / denominator
            per_class[category_id] = {'pq': pq_class, 'sq': sq_class, 'rq': rq_class}
            pq += pq_class
            sq += sq_class
            rq += rq_class
        if n == 0:
            return {'pq': 0.0, 'sq': 0.0, 'rq': 0.0, 'n': 0}, per_class
        return {'pq': pq / n, 'sq': sq / n, 'rq': rq / n, 'n': n}, per_class
