"""Deterministic mini datasets written in the real on-disk layouts of VOC, ADE20K, Cityscapes, COCO
(instances and panoptic) and HQSeg-44K.

Every format is built from the procedural scenes of :mod:`unseg_mm.datasets.synthetic`; the eight
synthetic object categories and three background categories are mapped onto real category names of
each dataset (a subset of its classes), so the stock mmseg / mmdet dataset classes, pipelines and
metrics read the files unchanged. Same arguments -> byte-identical files.

The benchmark formats are painted in the ``natural`` world (one appearance distribution for every
category; see :mod:`unseg_mm.datasets.appearance`); the mini HQSeg-44K set ``hqseg`` stays in the
``cartoon`` world the bundled generator was trained on (:data:`WORLD_OF_FORMAT`), and
``hqseg_natural`` is its natural-world counterpart in the same layout, drawn from procedural outline
families that are none of the benchmark's categories (:mod:`unseg_mm.datasets.pretraining`), the
generator's training set for the natural world. The output root
records the world version in :data:`WORLD_FILE`, so data written by an older version is recognised
(:func:`mini_world_is_current`) and cached benchmark cells are keyed by it.

Layouts (and where they are specified):
* VOC 2012 (mmseg ``PascalVOCDataset``, ``configs/_base_/datasets/pascal_voc12{,_aug}.py``; the
  VOC2012 devkit): ``VOCdevkit/VOC2012/{JPEGImages/*.jpg, SegmentationClass/*.png,
  SegmentationObject/*.png, ImageSets/Segmentation/{train,val,trainval}.txt}``; label PNGs are
  palette images, 0 background, 255 the void border around objects. Plus the SBD "aug" labels as
  mmseg's ``tools/dataset_converters/voc_aug.py`` leaves them (``SegmentationClassAug/*.png``,
  ``ImageSets/Segmentation/aug.txt``), so the stock ``voc12aug`` configs read the mini set.
* ADE20K / SceneParsing (mmseg ``ADE20KDataset``, ``configs/_base_/datasets/ade20k.py``):
  ``ADEChallengeData2016/{images,annotations}/{training,validation}/ADE_{train,val}_%08d.{jpg,png}``;
  annotation value 0 = "other" (ignored via ``reduce_zero_label``), 1..150 = the 150 classes.
* Cityscapes (cityscapesScripts' README and ``helpers/labels.py``; mmseg ``CityscapesDataset``):
  ``leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` and
  ``gtFine/{train,val}/<city>/..._gtFine_{polygons.json,labelIds.png,instanceIds.png,color.png,
  labelTrainIds.png}``; every label image is produced by cityscapesscripts' own converters from the
  polygon JSONs, plus ``gtFine/cityscapes_panoptic_{train,val}[.json]`` from its panoptic converter.
* COCO 2017 (cocodataset.org "data format"; mmdet ``CocoDataset``/``CocoPanopticDataset``):
  ``{train,val}2017/%012d.jpg``, ``annotations/instances_{train,val}2017.json`` (polygons; crowd
  regions as uncompressed RLE with ``iscrowd=1``), ``annotations/panoptic_{train,val}2017.json`` +
  ``annotations/panoptic_{train,val}2017/*.png`` (RGB id encoding ``id = R + 256 G + 256^2 B``),
  and ``stuffthingmaps_semseg/{train,val}2017/*.png`` (0..79 things, 80..132 stuff, 255 void), the
  semantic maps mmdet's ``prepare_coco_semantic_annos_from_panoptic_annos.py`` writes.
* HQSeg-44K (the SAM-HQ training set; folder layout of its subsets): ``DIS5K/DIS-{TR,VD}/{im,gt}``,
  ``thin_object_detection/ThinObject5K/{images,masks}_{train,test}`` and
  ``cascade_psp/DUTS-TR`` (image ``.jpg`` and mask ``.png`` side by side); masks are 0/255 PNGs of
  one object per image.
"""
import io
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from tqdm import tqdm

from .pretraining import render_family_scene
from .synthetic import CLUTTER_LAYER, STUFF_LAYER, THING_LAYER, Scene, render_scene

FORMATS = ('voc', 'ade20k', 'cityscapes', 'coco', 'coco_panoptic', 'hqseg', 'hqseg_natural')
DEFAULT_SIZES = {
    'voc': (128, 160),
    'ade20k': (128, 160),
    'cityscapes': (128, 256),
    'coco': (128, 160),
    'coco_panoptic': (128, 160),
    'hqseg': (160, 160),
    'hqseg_natural': (160, 160),
}
# (train, val) images per format by default. The benchmark formats are large enough for training
# to converge to a stable score; the cartoon mini HQSeg set keeps the size the bundled generator
# was trained on; the natural one is large enough for a generator to learn from.
DEFAULT_COUNTS = {fmt: (256, 48) for fmt in FORMATS}
DEFAULT_COUNTS['hqseg'] = (64, 16)
DEFAULT_COUNTS['hqseg_natural'] = (1024, 64)
JPEG_QUALITY = 95

# Real category names each synthetic category stands for, per format (THINGS order, STUFF order).
VOC_THINGS = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat')
ADE_THINGS = ('person', 'car', 'chair', 'table', 'lamp', 'box', 'bottle', 'clock')
ADE_STUFF = ('sky', 'wall', 'floor')
CITYSCAPES_THINGS = ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')
CITYSCAPES_STUFF = ('sky', 'building', 'road')
COCO_THINGS = ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck')
COCO_STUFF = ('sky-other-merged', 'wall-other-merged', 'floor-other-merged')

# COCO category ids are not contiguous; these are the official ones (80 things, 53 panoptic stuff),
# in the order of mmdet's CocoPanopticDataset METAINFO classes.
COCO_THING_IDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                  24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47,
                  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70,
                  72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90)
COCO_STUFF_IDS = (92, 93, 95, 100, 107, 109, 112, 118, 119, 122, 125, 128, 130, 133, 138, 141, 144,
                  145, 147, 148, 149, 151, 154, 155, 156, 159, 161, 166, 168, 171, 175, 176, 177,
                  178, 180, 181, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196,
                  197, 198, 199, 200)

# The world each format is painted in; WORLD_VERSION changes whenever any format's pixels change.
WORLD_OF_FORMAT = {fmt: 'natural' for fmt in FORMATS}
WORLD_OF_FORMAT['hqseg'] = 'cartoon'  # hqseg_natural: natural
WORLD_VERSION = 'natural-6'
WORLD_FILE = 'mini_world.json'

VOC_BORDER = 2  # width in pixels of VOC's void (255) band around objects, scaled to the mini size
SPLITS = ('train', 'val')


# ----------------------------------------------------------------------------------------------
# Deterministic file writing


def _rng(seed: int, fmt: str, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, FORMATS.index(fmt), SPLITS.index(split), index])


def _write_bytes(path: str, data: bytes) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def _jpeg_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format='JPEG', quality=JPEG_QUALITY)
    return buf.getvalue()


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()


def _write_json(path: str, obj) -> None:
    _write_bytes(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def _visible_masks(scene: Scene) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Layer index map and, per layer, its visible (unoccluded) binary mask."""
    index = scene.rasterize()
    return index, [index == i for i in range(len(scene.layers))]


# ----------------------------------------------------------------------------------------------
# Pascal VOC


def _voc_palette() -> List[int]:
    from mmseg.datasets import PascalVOCDataset
    palette = [c for rgb in PascalVOCDataset.METAINFO['palette'] for c in rgb]
    palette += [0] * (768 - len(palette))
    palette[255 * 3:255 * 3 + 3] = [224, 224, 192]  # VOC's colour for the void label
    return palette


def _void_border(labels: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of a boundary between different labels, as VOC marks them void."""
    import cv2
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    grown = cv2.dilate(labels.astype(np.uint8), kernel)
    shrunk = cv2.erode(labels.astype(np.uint8), kernel)
    return (grown != shrunk) & ((grown > 0) | (labels > 0))


def write_voc(root: str, split_indices: Dict[str, Sequence[int]], size: Tuple[int, int],
              seed: int, progress: Callable, world: str = None) -> str:
    base = osp.join(root, 'VOCdevkit', 'VOC2012')
    palette = _voc_palette()
    from mmseg.datasets import PascalVOCDataset
    class_ids = [PascalVOCDataset.METAINFO['classes'].index(n) for n in VOC_THINGS]
    lists = {}
    for split, indices in split_indices.items():
        names = []
        for i in indices:
            scene = render_scene(_rng(seed, 'voc', split, i), *size, num_things=(2, 4),
                                 world=world or WORLD_OF_FORMAT['voc'])
            name = f'2012_{(0 if split == "train" else 500000) + i:06d}'
            index, _ = _visible_masks(scene)
            cls = np.zeros(index.shape, np.uint8)
            obj = np.zeros(index.shape, np.uint8)
            for li, layer in enumerate(scene.layers):
                if layer.kind == THING_LAYER:
                    cls[index == li] = class_ids[layer.category]
                    obj[index == li] = layer.instance
            if split == 'train':
                # The SBD-derived "aug" labels of mmseg's voc_aug.py converter: plain class-index
                # PNGs without VOC's void border.
                _write_bytes(osp.join(base, 'SegmentationClassAug', name + '.png'),
                             _png_bytes(Image.fromarray(cls, mode='L')))
            border = _void_border(obj, VOC_BORDER)
            cls[border] = 255
            obj[border] = 255
            _write_bytes(osp.join(base, 'JPEGImages', name + '.jpg'), _jpeg_bytes(scene.image))
            for folder, arr in (('SegmentationClass', cls), ('SegmentationObject', obj)):
                img = Image.fromarray(arr, mode='L').convert('P')
                img.putpalette(palette)
                _write_bytes(osp.join(base, folder, name + '.png'), _png_bytes(img))
            names.append(name)
            progress()
        lists[split] = names
    seg_sets = osp.join(base, 'ImageSets', 'Segmentation')
    for split, names in lists.items():
        _write_bytes(osp.join(seg_sets, f'{split}.txt'), ''.join(n + '\n' for n in names).encode())
    _write_bytes(osp.join(seg_sets, 'aug.txt'),
                 ''.join(n + '\n' for n in lists.get('train', [])).encode())
    trainval = lists.get('train', []) + lists.get('val', [])
    _write_bytes(osp.join(seg_sets, 'trainval.txt'), ''.join(n + '\n' for n in trainval).encode())
    return base


# ----------------------------------------------------------------------------------------------
# ADE20K


def write_ade20k(root: str, split_indices: Dict[str, Sequence[int]], size: Tuple[int, int],
                 seed: int, progress: Callable, world: str = None) -> str:
    from mmseg.datasets import ADE20KDataset
    classes = ADE20KDataset.METAINFO['classes']
    # Annotation PNG value = class index + 1 (0 is "other").
    thing_vals = [classes.index(n) + 1 for n in ADE_THINGS]
    stuff_vals = [classes.index(n) + 1 for n in ADE_STUFF]
    base = osp.join(root, 'ADEChallengeData2016')
    folder = {'train': 'training', 'val': 'validation'}
    for split, indices in split_indices.items():
        for i in indices:
            scene = render_scene(_rng(seed, 'ade20k', split, i), *size, num_things=(1, 4),
                                 crowd_prob=0.3, world=world or WORLD_OF_FORMAT['ade20k'])
            index, _ = _visible_masks(scene)
            ann = np.zeros(index.shape, np.uint8)
            for li, layer in enumerate(scene.layers):
                if layer.kind == STUFF_LAYER:
                    ann[index == li] = stuff_vals[layer.category]
                elif layer.kind == THING_LAYER and not layer.crowd:
                    # an unnamed clutter of objects (a crowd or a near clutter object) is "other" (0)
                    ann[index == li] = thing_vals[layer.category]
            name = f'ADE_{split}_{i + 1:08d}'
            _write_bytes(osp.join(base, 'images', folder[split], name + '.jpg'),
                         _jpeg_bytes(scene.image))
            _write_bytes(osp.join(base, 'annotations', folder[split], name + '.png'),
                         _png_bytes(Image.fromarray(ann, mode='L')))
            progress()
    return base


# ----------------------------------------------------------------------------------------------
# Cityscapes

CITIES = {'train': ('aachen', 'bochum'), 'val': ('frankfurt', )}


def cityscapes_stem(split: str, i: int) -> Tuple[str, str]:
    cities = CITIES[split]
    city = cities[i % len(cities)]
    return city, f'{city}_{i // len(cities):06d}_{19:06d}'


def write_cityscapes(root: str, split_indices: Dict[str, Sequence[int]], size: Tuple[int, int],
                     seed: int, progress: Callable, world: str = None) -> str:
    from cityscapesscripts.helpers.labels import name2label
    from cityscapesscripts.preparation.json2instanceImg import json2instanceImg
    from cityscapesscripts.preparation.json2labelImg import json2labelImg
    base = osp.join(root, 'cityscapes')
    for split, indices in split_indices.items():
        for i in indices:
            scene = render_scene(_rng(seed, 'cityscapes', split, i), *size, num_things=(1, 4),
                                 crowd_prob=0.3, world=world or WORLD_OF_FORMAT['cityscapes'])
            city, stem = cityscapes_stem(split, i)
            objects = []
            for layer in scene.layers:
                if layer.kind == STUFF_LAYER:
                    label = CITYSCAPES_STUFF[layer.category]
                elif layer.kind == CLUTTER_LAYER:
                    label = 'dynamic'  # Cityscapes' label of an unnamed movable object (void)
                else:
                    label = CITYSCAPES_THINGS[layer.category]
                    # A crowd of objects is annotated as a "<label>group": class but no instance id.
                    if layer.crowd:
                        label += 'group'
                objects.append({'label': label, 'polygon': [list(p) for p in layer.polygon]})
            h, w = scene.height, scene.width
            gt_dir = osp.join(base, 'gtFine', split, city)
            json_path = osp.join(gt_dir, stem + '_gtFine_polygons.json')
            _write_json(json_path, {'imgHeight': h, 'imgWidth': w, 'objects': objects})
            _write_bytes(osp.join(base, 'leftImg8bit', split, city, stem + '_leftImg8bit.png'),
                         _png_bytes(Image.fromarray(scene.image)))
            # The official converters turn polygons into label images (as the real dataset's were).
            json2labelImg(json_path, osp.join(gt_dir, stem + '_gtFine_labelIds.png'), 'ids')
            json2labelImg(json_path, osp.join(gt_dir, stem + '_gtFine_color.png'), 'color')
            json2labelImg(json_path, osp.join(gt_dir, stem + '_gtFine_labelTrainIds.png'),
                          'trainIds')
            json2instanceImg(json_path, osp.join(gt_dir, stem + '_gtFine_instanceIds.png'), 'ids')
            progress()
    assert all(n in name2label for n in CITYSCAPES_THINGS + CITYSCAPES_STUFF)
    _cityscapes_panoptic(base, list(split_indices))
    return base


def _cityscapes_panoptic(base: str, splits: Iterable[str]) -> None:
    """Run cityscapesscripts' panoptic converter (it prints per-image progress; keep it quiet)."""
    import contextlib
    from cityscapesscripts.preparation.createPanopticImgs import convert2panoptic
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            convert2panoptic(cityscapesPath=osp.join(base, 'gtFine'),
                             outputFolder=osp.join(base, 'gtFine'), useTrainId=False,
                             setNames=list(splits))
    except SystemExit as exc:  # cityscapesscripts reports errors by printing and exiting
        raise RuntimeError(f'cityscapesscripts panoptic conversion failed:\n{log.getvalue()}') \
            from exc


# ----------------------------------------------------------------------------------------------
# COCO (instances, panoptic, semantic maps)


def _coco_categories(panoptic: bool) -> List[dict]:
    from mmdet.datasets import CocoPanopticDataset
    meta = CocoPanopticDataset.METAINFO
    names = meta['classes']
    palette = meta['palette']
    ids = COCO_THING_IDS + COCO_STUFF_IDS
    assert len(names) == len(ids) == 133
    cats = []
    for k, (cid, name) in enumerate(zip(ids, names)):
        isthing = k < len(COCO_THING_IDS)
        if not panoptic and not isthing:
            break
        cat = {'id': cid, 'name': name, 'supercategory': 'thing' if isthing else 'stuff'}
        if panoptic:
            cat.update(isthing=int(isthing), color=list(palette[k]))
        cats.append(cat)
    return cats


def _bbox(mask: np.ndarray) -> List[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1)]


def _polygons(mask: np.ndarray) -> List[List[float]]:
    """Outer contours of a binary mask as COCO polygons (flat x, y lists with >= 3 points)."""
    import cv2
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        if len(c) >= 3:
            polys.append([float(v) for v in c.reshape(-1)])
    return polys


def _uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE (column-major run lengths, starting with a run of zeros)."""
    flat = np.asfortranarray(mask.astype(np.uint8)).reshape(-1, order='F')
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return {'counts': counts, 'size': [int(mask.shape[0]), int(mask.shape[1])]}


def write_coco(root: str, split_indices: Dict[str, Sequence[int]], size: Tuple[int, int],
               seed: int, progress: Callable, panoptic: bool, world: str = None) -> str:
    """Write COCO images plus instance JSONs; with ``panoptic`` also panoptic and semantic files.

    Both variants draw the same scenes (the rng stream is keyed by 'coco'), so a ``coco`` and a
    ``coco_panoptic`` run into one root agree on every shared file.
    """
    from pycocotools import mask as mask_utils
    base = osp.join(root, 'coco')
    thing_names = [c['name'] for c in _coco_categories(False)]
    all_cats = _coco_categories(True)
    name_to_cat = {c['name']: c for c in all_cats}
    thing_cat_ids = [name_to_cat[n]['id'] for n in COCO_THINGS]
    stuff_cat_ids = [name_to_cat[n]['id'] for n in COCO_STUFF]
    contiguous = {c['id']: k for k, c in enumerate(all_cats)}  # 0..79 things, 80..132 stuff
    for split, indices in split_indices.items():
        images, instances, pan_anns = [], [], []
        ann_id = 0
        for i in indices:
            scene = render_scene(_rng(seed, 'coco', split, i), *size, num_things=(1, 4),
                                 crowd_prob=0.3, world=world or WORLD_OF_FORMAT['coco'])
            image_id = (1 if split == 'train' else 500001) + i
            file_name = f'{image_id:012d}.jpg'
            h, w = scene.height, scene.width
            images.append({'id': image_id, 'file_name': file_name, 'height': h, 'width': w,
                           'license': 1})
            _write_bytes(osp.join(base, f'{split}2017', file_name), _jpeg_bytes(scene.image))
            index, masks = _visible_masks(scene)
            pan = np.zeros((h, w), np.int64)
            sem = np.full((h, w), 255, np.uint8)
            segments = []
            for li, layer in enumerate(scene.layers):
                mask = masks[li]
                if not mask.any():
                    continue
                if layer.kind == THING_LAYER:
                    cat_id = thing_cat_ids[layer.category]
                    ann_id += 1
                    ann = {'id': ann_id, 'image_id': image_id, 'category_id': cat_id,
                           'iscrowd': int(layer.crowd), 'bbox': _bbox(mask),
                           'area': float(mask_utils.area(
                               mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))))}
                    polys = _polygons(mask)
                    if layer.crowd or not polys:
                        ann['segmentation'] = _uncompressed_rle(mask)
                        ann['iscrowd'] = 1
                    else:
                        ann['segmentation'] = polys
                    instances.append(ann)
                elif layer.kind == STUFF_LAYER:
                    cat_id = stuff_cat_ids[layer.category]
                else:  # a near clutter object: unlabelled (void)
                    continue
                # Panoptic segment ids are unique per image and encoded in RGB.
                seg_id = cat_id * 1000 + len(segments) + 1
                pan[mask] = seg_id
                sem[mask] = contiguous[cat_id]
                segments.append({'id': seg_id, 'category_id': cat_id,
                                 'iscrowd': int(layer.crowd), 'bbox': _bbox(mask),
                                 'area': int(mask.sum())})
            if panoptic:
                png_name = f'{image_id:012d}.png'
                rgb = np.stack([pan % 256, pan // 256 % 256, pan // 65536 % 256], -1)
                _write_bytes(osp.join(base, 'annotations', f'panoptic_{split}2017', png_name),
                             _png_bytes(Image.fromarray(rgb.astype(np.uint8))))
                _write_bytes(osp.join(base, 'stuffthingmaps_semseg', f'{split}2017', png_name),
                             _png_bytes(Image.fromarray(sem, mode='L')))
                pan_anns.append({'image_id': image_id, 'file_name': png_name,
                                 'segments_info': segments})
            progress()
        info = {'description': 'unseg_mm synthetic mini COCO', 'version': '1.0', 'year': 2017}
        licenses = [{'id': 1, 'name': 'synthetic', 'url': ''}]
        _write_json(osp.join(base, 'annotations', f'instances_{split}2017.json'),
                    {'info': info, 'licenses': licenses, 'images': images,
                     'annotations': instances, 'categories': _coco_categories(False)})
        if panoptic:
            _write_json(osp.join(base, 'annotations', f'panoptic_{split}2017.json'),
                        {'info': info, 'licenses': licenses, 'images': images,
                         'annotations': pan_anns, 'categories': all_cats})
    assert thing_names[:80] == [c['name'] for c in all_cats[:80]]
    return base


# ----------------------------------------------------------------------------------------------
# HQSeg-44K (two sets in its layout: ``hqseg``, the cartoon world's 8 categories, which the
# bundled generator was trained on; ``hqseg_natural``, the natural world's procedural outline
# families, none of them a benchmark category)

# (subset folder, image dir, mask dir) for each split; image and mask dirs may coincide.
HQSEG_SUBSETS = {
    'train': (('DIS5K/DIS-TR', 'im', 'gt'),
              ('thin_object_detection/ThinObject5K', 'images_train', 'masks_train'),
              ('cascade_psp/DUTS-TR', '.', '.')),
    'val': (('DIS5K/DIS-VD', 'im', 'gt'),
            ('thin_object_detection/ThinObject5K', 'images_test', 'masks_test')),
}


def write_hqseg(root: str, split_indices: Dict[str, Sequence[int]], size: Tuple[int, int],
                seed: int, progress: Callable, fmt: str = 'hqseg', world: str = None) -> str:
    base = osp.join(root, fmt)
    for split, indices in split_indices.items():
        subsets = HQSEG_SUBSETS[split]
        for i in indices:
            if fmt == 'hqseg':
                scene = render_scene(_rng(seed, fmt, split, i), *size, num_things=(1, 1),
                                     distractors=int(_rng(seed, fmt, split, i).integers(0, 3)),
                                     world=WORLD_OF_FORMAT[fmt])
            else:
                scene = render_family_scene(_rng(seed, fmt, split, i), *size,
                                            world=world or WORLD_OF_FORMAT[fmt])
            subset, im_dir, gt_dir = subsets[i % len(subsets)]
            index = scene.rasterize()
            target = [li for li, layer in enumerate(scene.layers)
                      if layer.kind == THING_LAYER and layer.labelled]
            mask = np.isin(index, target).astype(np.uint8) * 255
            name = f'{subset.split("/")[-1]}_{i:05d}'
            _write_bytes(osp.join(base, subset, im_dir, name + '.jpg'), _jpeg_bytes(scene.image))
            _write_bytes(osp.join(base, subset, gt_dir, name + '.png'),
                         _png_bytes(Image.fromarray(mask, mode='L')))
            progress()
    return base


WRITERS = {
    'voc': write_voc,
    'ade20k': write_ade20k,
    'cityscapes': write_cityscapes,
    'coco': lambda *a, **k: write_coco(*a, panoptic=False, **k),
    'coco_panoptic': lambda *a, **k: write_coco(*a, panoptic=True, **k),
    'hqseg': write_hqseg,
    'hqseg_natural': lambda *a, **k: write_hqseg(*a, fmt='hqseg_natural', **k),
}
# Formats whose world can be chosen (make_mini_datasets' ``world``): the benchmark formats, and
# the natural generator training set (``cluttered`` only: its scenes are of outline families);
# the cartoon HQSeg set keeps the world the bundled generator was trained on.
WORLD_CHOICE = ('voc', 'ade20k', 'cityscapes', 'coco', 'coco_panoptic', 'hqseg_natural')


def make_mini_datasets(out: str,
                       formats: Sequence[str] = FORMATS,
                       num_train: Optional[int] = None,
                       num_val: Optional[int] = None,
                       size: Optional[Tuple[int, int]] = None,
                       seed: int = 0,
                       show_progress: bool = True,
                       world: Optional[str] = None) -> Dict[str, str]:
    """Write the chosen formats under ``out``; returns {format: dataset root}.

    Each format is written into a temporary folder next to its final place and renamed when
    complete, so an interrupted run never leaves a dataset that looks finished. An existing
    dataset folder is replaced.

    Args:
        out: output folder (created).
        formats: subset of :data:`FORMATS`.
        num_train, num_val: number of images per split (default: :data:`DEFAULT_COUNTS` per
            format).
        size: (height, width) for every format; default: :data:`DEFAULT_SIZES` per format.
        seed: base seed; the same seed gives byte-identical files.
        show_progress: draw a progress bar.
        world: paint the benchmark formats (:data:`WORLD_CHOICE`) in this world of
            :data:`unseg_mm.datasets.synthetic.WORLDS` instead of :data:`WORLD_OF_FORMAT`'s,
            e.g. ``cluttered`` (unlabelled near objects among the labelled ones).
    """
    from .synthetic import WORLDS
    if world is not None:
        if world not in WORLDS:
            raise ValueError(f'unknown world {world!r}; choose from {", ".join(WORLDS)}')
        fixed = [f for f in formats if f not in WORLD_CHOICE
                 or (f == 'hqseg_natural' and world not in ('natural', 'cluttered'))]
        if fixed:
            raise ValueError(f'world {world!r} cannot be chosen for {fixed} (hqseg keeps the '
                             f'cartoon world the bundled generator was trained on; '
                             f'hqseg_natural is natural or cluttered); write them without '
                             f'--world')
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f'unknown format(s) {unknown}; choose from {", ".join(FORMATS)}')
    if (num_train is not None and num_train < 1) or (num_val is not None and num_val < 1):
        raise ValueError('num_train and num_val must be >= 1')
    if osp.exists(out) and not osp.isdir(out):
        raise NotADirectoryError(f'output root {out!r} exists and is not a folder; '
                                 f'pass a folder path to write the datasets into')
    os.makedirs(out, exist_ok=True)
    # coco and coco_panoptic share one folder: write it once with everything.
    formats = list(dict.fromkeys('coco_panoptic' if f == 'coco' and 'coco_panoptic' in formats
                                 else f for f in formats))
    counts = {fmt: (num_train or DEFAULT_COUNTS[fmt][0], num_val or DEFAULT_COUNTS[fmt][1])
              for fmt in formats}
    total = sum(sum(c) for c in counts.values())
    roots = {}
    with tqdm(total=total, desc='mini datasets', unit='img', disable=not show_progress) as bar:
        for fmt in formats:
            bar.set_postfix_str(fmt)
            fmt_size = tuple(size) if size else DEFAULT_SIZES[fmt]
            tmp = tempfile.mkdtemp(prefix=f'.{fmt}.', dir=out)
            try:
                split_indices = {'train': range(counts[fmt][0]), 'val': range(counts[fmt][1])}
                written = WRITERS[fmt](tmp, split_indices, fmt_size, seed, bar.update,
                                       world=world)
                rel = osp.relpath(written, tmp)
                top = rel.split(os.sep)[0]
                if osp.exists(osp.join(out, top)):
                    shutil.rmtree(osp.join(out, top))
                os.replace(osp.join(tmp, top), osp.join(out, top))
                final = osp.join(out, rel)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            roots[fmt] = final
            if fmt == 'coco_panoptic':
                roots['coco'] = final
            _record_world(out, fmt, dict(num_train=counts[fmt][0], num_val=counts[fmt][1],
                                         size=list(fmt_size), seed=seed,
                                         world=world or WORLD_OF_FORMAT[fmt]))
    return roots


def _read_world(out: str) -> dict:
    try:
        with open(osp.join(out, WORLD_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _record_world(out: str, fmt: str, settings: dict) -> None:
    """Note in ``out``/WORLD_FILE which world version and settings ``fmt`` was written with."""
    world = _read_world(out)
    if world.get('version') != WORLD_VERSION:
        world = dict(version=WORLD_VERSION, formats={})
    world['formats'][fmt] = dict(settings)
    if fmt == 'coco_panoptic':
        world['formats']['coco'] = world['formats'][fmt]
    tmp = osp.join(out, WORLD_FILE + '.tmp')
    _write_json(tmp, world)
    os.replace(tmp, osp.join(out, WORLD_FILE))


def mini_world_is_current(out: str, formats: Sequence[str] = FORMATS, world: str = None,
                          **settings) -> bool:
    """Whether ``out`` holds every one of ``formats`` written by this world version, in their
    world (``world`` if given, else :data:`WORLD_OF_FORMAT`'s) and, for each key given in
    ``settings``, e.g. ``num_train=256``, with that value."""
    recorded = _read_world(out)
    if recorded.get('version') != WORLD_VERSION:
        return False
    written = recorded.get('formats', {})
    return all(fmt in written
               and written[fmt].get('world') == (world or WORLD_OF_FORMAT[fmt])
               and all(written[fmt].get(k) == v for k, v in settings.items())
               for fmt in formats)
