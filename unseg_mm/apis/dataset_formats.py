"""Where each supported dataset keeps its training images and annotations, for the offline tool.

Each format names the stock dataset class and loading transforms that read its training split
(so protection sees exactly what a stock training pipeline loads), the files that must exist,
and how annotation labels map to class names.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..structures import LabelRules

# Which labels become objects, per format (the offline tool's FormatSpec and the UnSegProtect
# transform's ``format=`` both read it). Semantic formats whose label 0 is a class (ADE20K after
# reduce_zero_label, Cityscapes trainIds) have no background label; VOC's 0 is background;
# binary-mask formats (HQSeg, folder) mark objects with any non-zero value and must have one.
LABEL_RULES: Dict[str, LabelRules] = {
    'voc': LabelRules(background_labels=(0, )),
    'ade20k': LabelRules(),
    'cityscapes': LabelRules(),
    'coco': LabelRules(),
    'coco_panoptic': LabelRules(),
    'hqseg': LabelRules(background_labels=(0, ), objects_required=True),
    'folder': LabelRules(background_labels=(0, ), objects_required=True),
}

# Classes the generator protects as background instead of taking them as object prompts, unless
# the user chooses otherwise (the tool's --background-classes, the transform's
# ``background_classes``): where every pixel is labelled, the union of all regions is the whole
# frame and tells the generator nothing, so on the fully-labelled formats it is prompted with the
# things only (the reference code's ``multi`` mode). Class-wise methods are not prompted and keep
# every labelled class. Measured with the bundled generator at 8/255 on 2 CPU cores
# (benchmarks/results/mini/things.md): mini COCO panoptic Mask2Former (1200 iterations)
# 0.04 +- 0.02 of clean with things only vs 0.74 +- 0.09 with every region (2 seeds); mini
# ADE20K Mask2Former (1200) 0.57 +- 0.02 vs 0.77 +- 0.06 (2 seeds); mini Cityscapes DeepLabV3 (900
# iterations) 0.67 +- 0.14 vs 1.03 +- 0.02 (2 seeds).
DEFAULT_BACKGROUND_CLASSES: Dict[str, Tuple[str, ...]] = {
    'ade20k': ('stuff', ),
    'cityscapes': ('stuff', ),
    'coco_panoptic': ('stuff', ),
}


def background_class_names(fmt: str, chosen: Optional[Sequence[str]] = None,
                           prompted: bool = True) -> Tuple[str, ...]:
    """The classes of format ``fmt`` protected as background: ``chosen`` (empty: none), or where
    it is None the format's default (:data:`DEFAULT_BACKGROUND_CLASSES`) for a ``prompted``
    method (the generator; class-wise methods mark every labelled class alike)."""
    if chosen is not None:
        return tuple(chosen)
    return DEFAULT_BACKGROUND_CLASSES.get(fmt, ()) if prompted else ()


def label_rules(fmt: str) -> LabelRules:
    """The label rules of dataset format ``fmt`` (see :data:`LABEL_RULES`)."""
    if fmt not in LABEL_RULES:
        raise ValueError(f'unknown format {fmt!r}; choose from {", ".join(LABEL_RULES)}')
    return LABEL_RULES[fmt]

@dataclass
class FormatSpec:
    """How to read one dataset format's training split.

    Attributes:
        scope: registry scope of the stock classes (``mmseg`` or ``mmdet``).
        datasets: dataset configs (relative to the source root) whose images are protected.
        loading: the loading transforms that produce the annotations prompts come from.
        required: paths (relative to the root) that must exist, with what they are.
        layout: a one-line description for error messages.
        rules: which labels become objects (set from :data:`LABEL_RULES` by :func:`format_spec`).
        stuff_classes: names of the amorphous classes (road, sky, ...) where the stock dataset's
            metadata does not list them (COCO panoptic's ``stuff_classes`` does).
    """
    scope: str
    datasets: List[dict]
    loading: List[dict]
    required: List[Tuple[str, str]]
    layout: str
    rules: LabelRules = LabelRules()
    optional_datasets: List[Tuple[str, dict]] = field(default_factory=list)
    stuff_classes: Tuple[str, ...] = ()


# Cityscapes' classes without instances (trainIds 0-10; cityscapesScripts' hasInstances=False).
CITYSCAPES_STUFF = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                    'traffic sign', 'vegetation', 'terrain', 'sky')
# The 50 stuff classes of ADE20K's 150 (isthing = 0 in the ADE20K panoptic benchmark derived from
# SceneParsing, as Mask2Former's ADE20K panoptic metadata marks them), by mmseg's class names.
ADE20K_STUFF = ('wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'grass',
                'sidewalk', 'earth', 'mountain', 'plant', 'water', 'house', 'sea', 'rug', 'field',
                'rock', 'base', 'sand', 'skyscraper', 'grandstand', 'path', 'runway', 'stairway',
                'river', 'bridge', 'blind', 'hill', 'bar', 'hovel', 'tower', 'dirt track', 'land',
                'escalator', 'buffet', 'poster', 'stage', 'conveyer belt', 'canopy',
                'swimming pool', 'waterfall', 'tent', 'cradle', 'tank', 'lake', 'blanket', 'pier',
                'crt screen', 'shower')


def _voc(root: str) -> FormatSpec:
    train = dict(type='PascalVOCDataset',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/train.txt')
    aug = dict(type='PascalVOCDataset',
               data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
               ann_file='ImageSets/Segmentation/aug.txt')
    return FormatSpec(
        scope='mmseg', datasets=[train],
        optional_datasets=[('ImageSets/Segmentation/aug.txt', aug)],
        loading=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')],
        required=[('JPEGImages', 'image folder'), ('SegmentationClass', 'label folder'),
                  ('ImageSets/Segmentation/train.txt', 'training list')],
        layout='VOC2012 root: JPEGImages/, SegmentationClass/, ImageSets/Segmentation/train.txt '
               '(optional SBD aug: SegmentationClassAug/, ImageSets/Segmentation/aug.txt)')


def _ade20k(root: str) -> FormatSpec:
    return FormatSpec(
        scope='mmseg',
        datasets=[dict(type='ADE20KDataset',
                       data_prefix=dict(img_path='images/training',
                                        seg_map_path='annotations/training'))],
        loading=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations',
                                                      reduce_zero_label=True)],
        required=[('images/training', 'image folder'),
                  ('annotations/training', 'annotation folder')],
        stuff_classes=ADE20K_STUFF,
        layout='ADEChallengeData2016 root: images/training/*.jpg, annotations/training/*.png')


def _cityscapes(root: str) -> FormatSpec:
    return FormatSpec(
        scope='mmseg',
        datasets=[dict(type='CityscapesDataset',
                       data_prefix=dict(img_path='leftImg8bit/train',
                                        seg_map_path='gtFine/train'))],
        loading=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')],
        required=[('leftImg8bit/train', 'image folder'), ('gtFine/train', 'label folder')],
        stuff_classes=CITYSCAPES_STUFF,
        layout='cityscapes root: leftImg8bit/train/<city>/*_leftImg8bit.png, '
               'gtFine/train/<city>/*_gtFine_labelTrainIds.png')


def _coco(root: str) -> FormatSpec:
    return FormatSpec(
        scope='mmdet',
        datasets=[dict(type='CocoDataset', ann_file='annotations/instances_train2017.json',
                       data_prefix=dict(img='train2017/'),
                       filter_cfg=dict(filter_empty_gt=False))],
        loading=[dict(type='LoadImageFromFile'),
                 dict(type='LoadAnnotations', with_bbox=True, with_mask=True)],
        required=[('train2017', 'image folder'),
                  ('annotations/instances_train2017.json', 'instance annotations')],
        layout='coco root: train2017/*.jpg, annotations/instances_train2017.json')


def _coco_panoptic(root: str) -> FormatSpec:
    return FormatSpec(
        scope='mmdet',
        datasets=[dict(type='CocoPanopticDataset', ann_file='annotations/panoptic_train2017.json',
                       data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
                       filter_cfg=dict(filter_empty_gt=False))],
        loading=[dict(type='LoadImageFromFile'),
                 dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True,
                      with_seg=True)],
        required=[('train2017', 'image folder'),
                  ('annotations/panoptic_train2017.json', 'panoptic annotations'),
                  ('annotations/panoptic_train2017', 'panoptic PNG folder')],
        layout='coco root: train2017/*.jpg, annotations/panoptic_train2017.json, '
               'annotations/panoptic_train2017/*.png')


HQSEG_TRAIN_SUBSETS = (
    ('DIS5K/DIS-TR/im', 'DIS5K/DIS-TR/gt'),
    ('thin_object_detection/ThinObject5K/images_train',
     'thin_object_detection/ThinObject5K/masks_train'),
    ('cascade_psp/fss_all', 'cascade_psp/fss_all'),
    ('cascade_psp/DUTS-TR', 'cascade_psp/DUTS-TR'),
    ('cascade_psp/DUTS-TE', 'cascade_psp/DUTS-TE'),
    ('cascade_psp/ecssd', 'cascade_psp/ecssd'),
    ('cascade_psp/MSRA_10K', 'cascade_psp/MSRA_10K'),
)


def _hqseg(root: str) -> FormatSpec:
    present = [dict(im_dir=im, gt_dir=gt) for im, gt in HQSEG_TRAIN_SUBSETS
               if osp.isdir(osp.join(root, im))]
    return FormatSpec(
        scope='mmseg',
        datasets=[dict(type='HQSegDataset', subsets=present)] if present else [],
        loading=[dict(type='LoadImageFromFile'), dict(type='LoadBinaryMask')],
        required=[] if present else [(HQSEG_TRAIN_SUBSETS[0][0], 'an HQSeg-44K training subset')],
        layout='HQSeg-44K root (SAM-HQ layout): DIS5K/DIS-TR/{im,gt}, '
               'thin_object_detection/ThinObject5K/{images,masks}_train, cascade_psp/<set>/')


def _folder(root: str) -> FormatSpec:
    return FormatSpec(
        scope='mmseg',
        datasets=[dict(type='FolderMaskDataset')],
        loading=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')],
        required=[('images', 'image folder'), ('masks', 'mask folder')],
        layout='folder root: images/**/<name>.<ext> with masks/**/<name>.png (label PNGs: '
               '0 background, 255 ignore, any other value an object)')


FORMATS: Dict[str, Callable[[str], FormatSpec]] = {
    'voc': _voc,
    'ade20k': _ade20k,
    'cityscapes': _cityscapes,
    'coco': _coco,
    'coco_panoptic': _coco_panoptic,
    'hqseg': _hqseg,
    'folder': _folder,
}


def format_spec(fmt: str, root: str) -> FormatSpec:
    """The spec of ``fmt`` for the dataset at ``root``, after checking its layout.

    Raises:
        ValueError: unknown format.
        FileNotFoundError: a required file or folder is missing (named, with the layout).
    """
    if fmt not in FORMATS:
        raise ValueError(f'unknown format {fmt!r}; choose from {", ".join(FORMATS)}')
    if not osp.isdir(root):
        raise FileNotFoundError(f'source root {root!r} is not a folder')
    spec = FORMATS[fmt](root)
    spec.rules = label_rules(fmt)
    for rel, what in spec.required:
        if not osp.exists(osp.join(root, rel)):
            raise FileNotFoundError(f'{fmt}: {what} {osp.join(root, rel)!r} is missing. Expected '
                                    f'layout: {spec.layout}')
    for marker, dataset in spec.optional_datasets:
        if osp.exists(osp.join(root, marker)):
            spec.datasets.append(dataset)
    return spec


def list_files(root: str) -> List[str]:
    """All files under ``root``, relative, sorted (the copy plan of the offline tool)."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        out += [osp.relpath(osp.join(folder, f), root) for f in sorted(files)]
    return out

