"""Objects to protect, from the annotations an OpenMMLab loading pipeline has already read.

The same function serves the ``UnSegProtect`` transform and ``tools/protect_dataset.py`` (which
runs the stock loading transforms on each training sample), so both see the same objects.

Sources, in order of preference for ``source='auto'``:
* ``gt_masks`` (mmdet ``LoadAnnotations(with_mask=True)`` / ``LoadPanopticAnnotations``): one
  object per instance; with a ``gt_seg_map`` as well (panoptic), every remaining labelled region
  (stuff classes) is one object per class;
* ``gt_seg_map`` (mmseg ``LoadAnnotations``): one object per class region;
* ``instances[i]['mask']`` (raw COCO polygons / RLE, e.g. DINO's pipeline that loads boxes only);
* ``gt_bboxes``: the boxes themselves as regions.
Ignore labels (255) never become objects; ``background_labels`` (VOC's 0) are not objects either.

:func:`prompts_of_sample` is the one path from a loaded sample to its prompts, with the checks
both the offline tool and the transform apply (annotation size, empty binary masks); both key the
sample with :func:`unseg_mm.structures.sample_key`.
"""
from typing import Iterable, List, Optional, Sequence

import numpy as np

from ..structures import ImagePrompts, LabelRules

SOURCES = ('auto', 'instances', 'semantic', 'polygons', 'boxes')


def _union(masks: Iterable[np.ndarray], shape) -> np.ndarray:
    out = np.zeros(shape, bool)
    for m in masks:
        out |= m
    return out


def _select(objects: List[np.ndarray], labels: List[int], shape,
            classes: Optional[Sequence[int]]) -> ImagePrompts:
    """Keep objects of ``classes`` (all when None); the others' pixels stay clean."""
    keep = None if classes is None else set(int(c) for c in classes)
    chosen = [(o, int(lab)) for o, lab in zip(objects, labels)
              if o.any() and (keep is None or int(lab) in keep)]
    others = [] if keep is None else [o for o, lab in zip(objects, labels) if int(lab) not in keep]
    return ImagePrompts(objects=[o for o, _ in chosen], labels=[lab for _, lab in chosen],
                        keep_clean=_union(others, shape) if others else None)


def present_labels(seg_map: np.ndarray) -> List[int]:
    """The sorted label values in ``seg_map`` (``np.unique``'s answer; by counting for the
    usual 8- and 16-bit maps, several times faster than its sort)."""
    if seg_map.dtype in (np.uint8, np.uint16):
        return np.flatnonzero(np.bincount(seg_map.ravel())).tolist()
    return [int(v) for v in np.unique(seg_map)]


def objects_from_semantic(seg_map: np.ndarray, ignore_labels: Sequence[int] = (255, ),
                          background_labels: Sequence[int] = (),
                          classes: Optional[Sequence[int]] = None) -> ImagePrompts:
    """One object per class region of a semantic map (ignore and background labels excluded)."""
    skip = set(ignore_labels) | set(background_labels)
    labels = [v for v in present_labels(seg_map) if v not in skip]
    return _select([seg_map == v for v in labels], labels, seg_map.shape, classes)


def _instance_masks(gt_masks, shape) -> List[np.ndarray]:
    if hasattr(gt_masks, 'to_ndarray'):  # mmdet BitmapMasks / PolygonMasks
        return [m.astype(bool) for m in gt_masks.to_ndarray()]
    return [np.asarray(m, bool) for m in gt_masks]


def _decode_raw_mask(segm, shape) -> np.ndarray:
    from pycocotools import mask as mask_utils
    h, w = shape
    if isinstance(segm, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, h, w))
    elif isinstance(segm['counts'], list):
        rle = mask_utils.frPyObjects(segm, h, w)
    else:
        rle = segm
    return mask_utils.decode(rle).astype(bool)


def _box_mask(box, shape) -> np.ndarray:
    h, w = shape
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    m = np.zeros(shape, bool)
    m[max(0, y1):min(h, y2), max(0, x1):min(w, x2)] = True
    return m


def objects_from_results(results: dict, source: str = 'auto',
                         ignore_labels: Sequence[int] = (255, ),
                         background_labels: Sequence[int] = (),
                         classes: Optional[Sequence[int]] = None) -> ImagePrompts:
    """Objects of one sample from an mmseg/mmdet ``results`` dict (after its loading transforms).

    Args:
        source: one of :data:`SOURCES` (``auto`` picks the richest available).
        ignore_labels, background_labels: semantic labels that are never objects.
        classes: protect only objects of these labels (contiguous label ids as loaded:
            ``gt_seg_map`` values or ``gt_bboxes_labels``); other objects' pixels stay clean.

    Raises:
        KeyError: the requested source is not in ``results`` (wrong pipeline position or
            annotations not loaded).
    """
    if source not in SOURCES:
        raise ValueError(f'unknown prompt source {source!r}; choose from {SOURCES}')
    shape = results['img'].shape[:2]
    has = {
        'instances': results.get('gt_masks') is not None,
        'semantic': results.get('gt_seg_map') is not None,
        'polygons': any('mask' in inst for inst in results.get('instances', [])),
        'boxes': results.get('gt_bboxes') is not None,
    }
    if source == 'auto':
        source = next((s for s in SOURCES[1:] if has[s]), None)
        if source is None:
            raise KeyError(f'no annotations in the sample of {results.get("img_path")!r}: place '
                           f'the protection after the LoadAnnotations transform')
    elif not has[source]:
        raise KeyError(f'prompt source {source!r} is not available for '
                       f'{results.get("img_path")!r} (keys: {sorted(results)})')

    if source == 'semantic':
        return objects_from_semantic(results['gt_seg_map'], ignore_labels, background_labels,
                                     classes)
    if source == 'instances':
        objects = _instance_masks(results['gt_masks'], shape)
        labels = [int(v) for v in np.asarray(results.get('gt_bboxes_labels', [-1] * len(objects)))]
        seg = results.get('gt_seg_map')
        if seg is not None:  # panoptic: add the stuff regions not covered by thing instances
            things = _union(objects, shape)
            skip = set(ignore_labels) | set(background_labels)
            for v in present_labels(seg):
                if v in skip:
                    continue
                region = (seg == v) & ~things
                if region.any():
                    objects.append(region)
                    labels.append(v)
        return _select(objects, labels, shape, classes)
    if source == 'polygons':
        insts = [i for i in results['instances'] if 'mask' in i]
        objects = [_decode_raw_mask(i['mask'], shape) for i in insts]
        return _select(objects, [i.get('bbox_label', -1) for i in insts], shape, classes)
    boxes = results['gt_bboxes']
    boxes = boxes.tensor.numpy() if hasattr(boxes, 'tensor') else np.asarray(boxes)
    labels = list(np.asarray(results.get('gt_bboxes_labels', [-1] * len(boxes))))
    return _select([_box_mask(b, shape) for b in boxes], labels, shape, classes)


def prompts_of_sample(results: dict, rules: LabelRules = LabelRules(), source: str = 'auto',
                      classes: Optional[Sequence[int]] = None) -> ImagePrompts:
    """The prompts of one loaded sample: what the offline tool and ``UnSegProtect`` both
    protect, under the same rules and checks.

    Args:
        results: the sample after its loading transforms (``img``, ``img_path`` and the
            annotations).
        rules: the format's label rules (:func:`unseg_mm.apis.dataset_formats.label_rules`).
        source, classes: see :func:`objects_from_results`.

    Raises:
        ValueError: the annotation's size differs from the image's, or a format that requires
            objects (binary masks) has an empty one; the message names the file.
    """
    img = results['img']
    seg = results.get('gt_seg_map')
    if seg is not None and seg.shape[:2] != img.shape[:2]:
        raise ValueError(f'annotation {results.get("seg_map_path")!r} is {seg.shape[0]}x'
                         f'{seg.shape[1]} but the image is {img.shape[0]}x{img.shape[1]}')
    prompts = objects_from_results(results, source, rules.ignore_labels,
                                   rules.background_labels, classes)
    if rules.objects_required and not prompts.objects and classes is None:
        raise ValueError(f'mask {results.get("mask_path", results.get("seg_map_path"))!r} is '
                         f'empty: no object to protect')
    return prompts
