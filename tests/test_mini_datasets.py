"""Mini datasets: real on-disk layouts read by the stock dataset classes, pipelines and metrics."""
import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from PIL import Image

from conftest import MINI_NUM_TRAIN, MINI_NUM_VAL, config_path
from unseg_mm.apis.config_utils import rebase_paths
from unseg_mm.datasets.mini import FORMATS, make_mini_datasets
from unseg_mm.datasets.synthetic import THING_LAYER, THINGS, render_scene


def _tree_digest(root):
    digest = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                digest[osp.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return digest


def test_same_seed_gives_byte_identical_files(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    kwargs = dict(num_train=3, num_val=2, show_progress=False)
    make_mini_datasets(a, FORMATS, seed=7, **kwargs)
    make_mini_datasets(b, FORMATS, seed=7, **kwargs)
    make_mini_datasets(c, ['voc'], seed=8, **kwargs)
    digest_a = _tree_digest(a)
    assert digest_a == _tree_digest(b)
    voc_a = {k: v for k, v in digest_a.items() if k.startswith('VOCdevkit')}
    voc_c = {k: v for k, v in _tree_digest(c).items() if k.startswith('VOCdevkit')}
    assert voc_a.keys() == voc_c.keys() and voc_a != voc_c


def test_invalid_output_root_and_format_are_clear_errors(tmp_path):
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    with pytest.raises(NotADirectoryError, match=str(a_file)):
        make_mini_datasets(str(a_file), ['voc'], show_progress=False)
    with pytest.raises(ValueError, match='unknown format'):
        make_mini_datasets(str(tmp_path / 'out'), ['pascal'], show_progress=False)


def test_interrupted_write_leaves_no_dataset_behind(tmp_path, monkeypatch):
    from unseg_mm.datasets import mini

    def failing_writer(*args, **kwargs):  # a writer takes (root, splits, size, seed, progress, world=)
        raise RuntimeError('disk full')

    monkeypatch.setitem(mini.WRITERS, 'voc', failing_writer)
    with pytest.raises(RuntimeError):
        make_mini_datasets(str(tmp_path), ['voc'], show_progress=False)
    assert os.listdir(tmp_path) == []


def _build(scope, cfg):
    from mmdet.registry import DATASETS as DET_DATASETS
    from mmseg.registry import DATASETS as SEG_DATASETS
    registry = SEG_DATASETS if scope == 'mmseg' else DET_DATASETS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)


def _mini_cfg(name, mini_root):
    cfg = Config.fromfile(config_path('mini', name))
    return rebase_paths(cfg, 'data/mini', mini_root)


def _evaluate(scope, metric_cfg, dataset, predict):
    """Run a stock metric over ``dataset`` with predictions made by ``predict(data_sample)``."""
    from mmdet.registry import METRICS as DET_METRICS
    from mmseg.registry import METRICS as SEG_METRICS
    registry = SEG_METRICS if scope == 'mmseg' else DET_METRICS
    with DefaultScope.overwrite_default_scope(scope):
        metric = registry.build(metric_cfg)
    metric.dataset_meta = dataset.metainfo
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        predict(sample, i)
        metric.process({}, [sample.to_dict()])
    return metric.evaluate(len(dataset))


def _perfect_semantic(sample, _):
    sample.pred_sem_seg = sample.gt_sem_seg


@pytest.mark.parametrize('config', ['deeplabv3_r18_mini-voc.py', 'mask2former_r18_mini-ade20k.py'])
def test_mmseg_formats_through_stock_pipeline_and_iou_metric(config, mini_root):
    cfg = _mini_cfg(config, mini_root)
    train = _build('mmseg', cfg.train_dataloader.dataset)
    expected = MINI_NUM_TRAIN * (2 if 'voc' in config else 1)  # voc12aug: train + aug lists
    assert len(train) == expected
    sample = train[0]
    assert max(sample['inputs'].shape[-2:]) <= 128  # random resize + 128 px crop
    labels = set(sample['data_samples'].gt_sem_seg.data.unique().tolist())
    assert labels <= set(range(150)) | {255}
    val = _build('mmseg', cfg.val_dataloader.dataset)
    assert len(val) == MINI_NUM_VAL
    metrics = _evaluate('mmseg', cfg.val_evaluator, val, _perfect_semantic)
    assert metrics['mIoU'] == pytest.approx(100.0)


def test_voc_label_files(mini_root):
    voc = osp.join(mini_root, 'VOCdevkit', 'VOC2012')
    name = open(osp.join(voc, 'ImageSets', 'Segmentation', 'train.txt')).read().split()[0]
    cls = Image.open(osp.join(voc, 'SegmentationClass', name + '.png'))
    assert cls.mode == 'P'
    cls = np.array(cls)
    obj = np.array(Image.open(osp.join(voc, 'SegmentationObject', name + '.png')))
    aug = np.array(Image.open(osp.join(voc, 'SegmentationClassAug', name + '.png')))
    assert 255 in cls and 0 in cls
    assert np.array_equal(cls == 255, obj == 255)
    # the aug label has no void border and agrees with the VOC label everywhere else
    assert 255 not in aug and np.array_equal(aug[cls != 255], cls[cls != 255])


def test_cityscapes_labels_and_metric(mini_root):
    from cityscapesscripts.helpers.labels import id2label
    root = osp.join(mini_root, 'cityscapes')
    cfg = dict(type='CityscapesDataset', data_root=root,
               data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
               pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                         dict(type='PackSegInputs')])
    val = _build('mmseg', cfg)
    assert len(val) == MINI_NUM_VAL
    info = val.get_data_info(0)
    label_ids = np.array(Image.open(info['seg_map_path'].replace('labelTrainIds', 'labelIds')))
    train_ids = np.array(Image.open(info['seg_map_path']))
    to_train = np.vectorize(lambda i: id2label[i].trainId if id2label[i].trainId >= 0 else 255)
    assert np.array_equal(to_train(label_ids), train_ids)
    instance_ids = np.array(Image.open(info['seg_map_path'].replace('labelTrainIds',
                                                                    'instanceIds')))
    assert (instance_ids >= 1000).any()  # things carry instance ids
    assert osp.isfile(osp.join(root, 'gtFine', 'cityscapes_panoptic_val.json'))
    metrics = _evaluate('mmseg', dict(type='CityscapesMetric', output_dir=str(root) + '_eval'),
                        val, _perfect_semantic)
    assert metrics['averageScoreCategories'] == pytest.approx(1.0)


def test_coco_instances_through_stock_pipeline_and_cocoeval(mini_root):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    cfg = _mini_cfg('mask2former_r18_mini-coco.py', mini_root)
    train = _build('mmdet', cfg.train_dataloader.dataset)
    assert 0 < len(train) <= MINI_NUM_TRAIN
    packed = train[0]
    assert max(packed['inputs'].shape[-2:]) <= 128
    # Every packed sample keeps one mask per labelled instance with a COCO category index, and
    # the stock pipeline leaves objects in the crops of most samples.
    counts = []
    for i in range(min(len(train), 8)):
        inst = train[i]['data_samples'].gt_instances
        assert len(inst.masks) == len(inst.labels)
        assert ((inst.labels >= 0) & (inst.labels < 80)).all()
        counts.append(len(inst))
    assert sum(c > 0 for c in counts) >= len(counts) // 2, counts
    ann_file = osp.join(mini_root, 'coco', 'annotations', 'instances_val2017.json')
    coco = COCO(ann_file)
    anns = coco.loadAnns(coco.getAnnIds())
    assert any(a['iscrowd'] for a in anns) or MINI_NUM_VAL < 4
    names = {c['name'] for c in coco.loadCats(coco.getCatIds())}
    assert len(names) == 80
    # Ground truth submitted as detections scores a perfect AP in the official evaluator.
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'],
                 segmentation=coco.annToRLE(a), score=1.0) for a in anns if not a['iscrowd']]
    for iou_type in ('bbox', 'segm'):
        evaluator = COCOeval(coco, coco.loadRes(dets), iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        assert evaluator.stats[0] == pytest.approx(1.0)


def test_coco_panoptic_through_stock_pipeline_and_pq_metric(mini_root):
    cfg = _mini_cfg('mask2former_r18_mini-coco-panoptic.py', mini_root)
    train = _build('mmdet', cfg.train_dataloader.dataset)
    packed = train[0]
    sample = packed['data_samples']
    assert sample.gt_sem_seg.sem_seg.shape[-2:] == packed['inputs'].shape[-2:]
    val = _build('mmdet', cfg.val_dataloader.dataset)
    root = osp.join(mini_root, 'coco')

    def perfect(sample, i):
        info = val.get_data_info(i)
        rgb = np.array(Image.open(info['seg_map_path'])).astype(np.int64)
        pan = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
        out = np.full(pan.shape, len(val.metainfo['classes']), np.int64)  # void
        for k, seg in enumerate(info['segments_info']):
            out[pan == seg['id']] = seg['category'] + (k + 1) * 1000
        sample.pred_panoptic_seg = PixelData(sem_seg=torch.from_numpy(out)[None])

    metrics = _evaluate('mmdet', cfg.val_evaluator[0], val, perfect)
    assert metrics['coco_panoptic/PQ'] == pytest.approx(100.0)
    # semantic maps agree with the panoptic PNGs
    pan_json = json.load(open(osp.join(root, 'annotations', 'panoptic_val2017.json')))
    first = pan_json['annotations'][0]
    sem = np.array(Image.open(osp.join(root, 'stuffthingmaps_semseg', 'val2017',
                                       first['file_name'])))
    assert (sem != 255).any() and set(np.unique(sem)) <= set(range(133)) | {255}


@pytest.mark.parametrize('fmt', ['hqseg', 'hqseg_natural'])
def test_hqseg_layout_and_dataset(mini_root, fmt):
    from unseg_mm.datasets import HQSegDataset
    root = osp.join(mini_root, fmt)
    dataset = HQSegDataset(data_root=root, subsets=[
        dict(im_dir='DIS5K/DIS-TR/im', gt_dir='DIS5K/DIS-TR/gt'),
        dict(im_dir='thin_object_detection/ThinObject5K/images_train',
             gt_dir='thin_object_detection/ThinObject5K/masks_train'),
        dict(im_dir='cascade_psp/DUTS-TR', gt_dir='cascade_psp/DUTS-TR'),
    ])
    assert len(dataset) == MINI_NUM_TRAIN
    mask = np.array(Image.open(dataset[0]['mask_path']))
    assert mask.ndim == 2 and set(np.unique(mask)) <= {0, 255} and (mask == 255).any()


def test_natural_hqseg_scenes_hold_one_salient_object_of_the_generator_families():
    """The generator's training scenes draw one labelled object of a generator family (plus
    unlabelled ones of others), from a family range disjoint from the backbone's pretraining
    families; the same seed gives the same scene."""
    from unseg_mm.datasets.pretraining import GENERATOR_FAMILIES, render_family_scene
    assert min(GENERATOR_FAMILIES) >= 1000 > 48  # the bundled backbone's families are 0..47
    fractions = []
    for i in range(40):
        scene = render_family_scene(np.random.default_rng(i), 96, 96)
        labelled = [k for k, layer in enumerate(scene.layers)
                    if layer.kind == THING_LAYER and layer.labelled]
        assert len(labelled) == 1 and scene.layers[labelled[0]].instance == 1
        fractions.append(float((scene.rasterize() == labelled[0]).mean()))
        again = render_family_scene(np.random.default_rng(i), 96, 96)
        assert np.array_equal(again.image, scene.image)
    # salient objects: no empty masks, most of them well inside the 3% floor of the outline redraw
    assert min(fractions) > 0 and np.median(fractions) > 0.05


def test_hqseg_bad_root_and_missing_mask_name_the_files(mini_root, tmp_path):
    from unseg_mm.datasets import HQSegDataset
    with pytest.raises(FileNotFoundError, match='does not exist'):
        HQSegDataset(data_root=str(tmp_path), subsets=[dict(im_dir='im', gt_dir='gt')])
    (tmp_path / 'im').mkdir()
    (tmp_path / 'gt').mkdir()
    Image.new('RGB', (8, 8)).save(tmp_path / 'im' / 'a.jpg')
    with pytest.raises(FileNotFoundError, match='a.jpg.*has no mask'):
        HQSegDataset(data_root=str(tmp_path), subsets=[dict(im_dir='im', gt_dir='gt')])


def test_cartoon_classes_share_colours_in_pairs_but_not_shape_or_texture():
    """In the cartoon world (kept for the mini HQSeg set) classes come in same-colour pairs."""
    pairs = {}
    for cls in THINGS:
        pairs.setdefault(cls.colors, []).append(cls)
    assert all(len(members) == 2 for members in pairs.values())
    for a, b in pairs.values():
        assert a.shape != b.shape and a.texture != b.texture


def _region_features(world: str, split: int, count: int):
    """Colour statistics of every visible object region: per-channel mean and std and an
    8-bin histogram per channel; with the object's category."""
    features, labels = [], []
    for i in range(count):
        scene = render_scene(np.random.default_rng([99, split, i]), 96, 112, num_things=(2, 4),
                             world=world)
        index = scene.rasterize()
        pixels = scene.image.reshape(-1, 3).astype(np.float64)
        for li, layer in enumerate(scene.layers):
            region = (index == li).reshape(-1)
            if layer.kind != 'thing' or region.sum() < 30:
                continue
            px = pixels[region]
            hist = [np.histogram(px[:, c], bins=8, range=(0, 256))[0] / len(px) for c in range(3)]
            features.append(np.concatenate([px.mean(0) / 255, px.std(0) / 64, *hist]))
            labels.append(layer.category)
    return np.array(features), np.array(labels)


def _linear_probe_accuracy(world: str) -> float:
    """Train a ridge-regression linear classifier on the train scenes' region colour features,
    return its accuracy on held-out scenes."""
    x_train, y_train = _region_features(world, 0, 150)
    x_val, y_val = _region_features(world, 1, 80)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    design = np.hstack([(x_train - mean) / std, np.ones((len(x_train), 1))])
    targets = np.eye(len(THINGS))[y_train]
    weights = np.linalg.solve(design.T @ design + 1.0 * np.eye(design.shape[1]),
                              design.T @ targets)
    predicted = (np.hstack([(x_val - mean) / std, np.ones((len(x_val), 1))]) @ weights).argmax(1)
    return float((predicted == y_val).mean())


def test_colour_does_not_give_the_class_away_in_the_natural_world():
    """A linear probe on the colour statistics of the ground-truth object regions stays near
    chance (1/8) in the natural world; the same probe reads the class off the cartoon world's
    colours and textures (the reason that world could not calibrate a benchmark)."""
    chance = 1 / len(THINGS)
    natural = _linear_probe_accuracy('natural')
    cartoon = _linear_probe_accuracy('cartoon')
    assert natural < chance + 0.08, natural
    assert cartoon > 0.5, cartoon


def test_natural_scenes_are_deterministic_and_share_one_look_distribution():
    a = render_scene(np.random.default_rng(3), 64, 80)
    b = render_scene(np.random.default_rng(3), 64, 80)
    assert np.array_equal(a.image, b.image) and a.layers == b.layers
    with pytest.raises(ValueError, match='unknown world'):
        render_scene(np.random.default_rng(3), 64, 80, world='toon')


@pytest.mark.parametrize('alpha', [0.0, 1.0, 1.5])
def test_pink_noise_has_the_requested_spectral_slope(alpha):
    """Textures are 1/f^alpha fields: the power spectrum falls off with slope -2 alpha."""
    from unseg_mm.datasets.appearance import pink_noise
    field = pink_noise(np.random.default_rng(0), 128, 128, alpha=alpha)
    assert abs(field.mean()) < 1e-4 and abs(field.std() - 1) < 1e-4
    power = np.abs(np.fft.fft2(field)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(128), np.fft.fftfreq(128), indexing='ij')
    radius = np.hypot(fy, fx)
    band = (radius > 0.02) & (radius < 0.45)
    slope = np.polyfit(np.log(radius[band]), np.log(power[band]), 1)[0]
    assert abs(slope + 2 * alpha) < 0.2, slope


def test_world_version_is_recorded_and_checked(tmp_path):
    from unseg_mm.datasets import mini
    out = str(tmp_path / 'mini')
    assert not mini.mini_world_is_current(out)
    make_mini_datasets(out, ['voc'], num_train=2, num_val=1, show_progress=False)
    assert mini.mini_world_is_current(out, ['voc'])
    assert mini.mini_world_is_current(out, ['voc'], num_train=2)
    assert not mini.mini_world_is_current(out, ['voc'], num_train=3)
    assert not mini.mini_world_is_current(out)  # the other formats were not written
    with open(osp.join(out, mini.WORLD_FILE)) as f:
        world = json.load(f)
    assert world['version'] == mini.WORLD_VERSION
    assert world['formats']['voc']['world'] == 'natural'
    world['version'] = 'older'
    with open(osp.join(out, mini.WORLD_FILE), 'w') as f:
        json.dump(world, f)
    assert not mini.mini_world_is_current(out, ['voc'])


def test_cluttered_world_adds_unlabelled_near_objects_that_every_format_leaves_unlabelled(
        tmp_path):
    """The cluttered world puts 2-4 sharp unlabelled objects among the labelled ones; VOC labels
    them background, ADE20K "other", Cityscapes and COCO void; the choice is recorded."""
    from unseg_mm.datasets import mini
    from unseg_mm.datasets.synthetic import CLUTTER_LAYER, NEAR_CLUTTER
    scene = render_scene(np.random.default_rng(3), 128, 160, num_things=(2, 4),
                         world='cluttered')
    kinds = [layer.kind for layer in scene.layers]
    assert NEAR_CLUTTER[0] <= kinds.count(CLUTTER_LAYER) <= NEAR_CLUTTER[1]
    assert all(not layer.labelled for layer in scene.layers if layer.kind == CLUTTER_LAYER)
    natural = render_scene(np.random.default_rng(3), 128, 160, num_things=(2, 4))
    assert CLUTTER_LAYER not in [layer.kind for layer in natural.layers]

    out = str(tmp_path / 'cluttered')
    make_mini_datasets(out, ['voc', 'ade20k', 'cityscapes', 'coco_panoptic'], num_train=3,
                       num_val=1, show_progress=False, world='cluttered')
    assert mini.mini_world_is_current(out, ['voc', 'coco'], 'cluttered')
    assert not mini.mini_world_is_current(out, ['voc'])  # not the default world

    def clutter_mask(fmt, i):
        kwargs = dict(num_things=(2, 4)) if fmt == 'voc' else dict(num_things=(1, 4),
                                                                    crowd_prob=0.3)
        scene = render_scene(mini._rng(0, fmt, 'train', i), *mini.DEFAULT_SIZES[fmt],
                             world='cluttered', **kwargs)
        index = scene.rasterize()
        return np.isin(index, [k for k, layer in enumerate(scene.layers)
                               if layer.kind == CLUTTER_LAYER])

    def label(path):
        return np.array(Image.open(osp.join(out, path)))

    seen = 0
    for i in range(3):
        voc = label(f'VOCdevkit/VOC2012/SegmentationClass/2012_{i:06d}.png')
        m = clutter_mask('voc', i)
        assert set(np.unique(voc[m])) <= {0, 255} and (voc[m] == 0).mean() > 0.5
        m = clutter_mask('ade20k', i)
        assert (label(f'ADEChallengeData2016/annotations/training/ADE_train_{i + 1:08d}.png')[m]
                == 0).all()
        m = clutter_mask('cityscapes', i)
        city, stem = mini.cityscapes_stem('train', i)
        train_ids = label(f'cityscapes/gtFine/train/{city}/{stem}_gtFine_labelTrainIds.png')
        assert (train_ids[m] == 255).all()
        m = clutter_mask('coco', i)  # both COCO sets are drawn from the 'coco' seeds
        assert (label(f'coco/stuffthingmaps_semseg/train2017/{i + 1:012d}.png')[m] == 255).all()
        seen += m.sum()
    assert seen > 0
    with pytest.raises(ValueError, match='cannot be chosen'):
        make_mini_datasets(out, ['hqseg'], world='cluttered', show_progress=False)
    with pytest.raises(ValueError, match='unknown world'):
        make_mini_datasets(out, ['voc'], world='noisy', show_progress=False)
    with pytest.raises(ValueError, match='cannot be chosen'):
        make_mini_datasets(out, ['hqseg_natural'], world='cartoon', show_progress=False)
    # the generators' natural training set in the cluttered world: one labelled object among
    # near objects as large as it
    from unseg_mm.datasets.pretraining import render_family_scene
    scene = render_family_scene(np.random.default_rng(5), 160, 160, world='cluttered')
    assert [layer.labelled for layer in scene.layers if layer.kind == THING_LAYER].count(True) == 1
    assert NEAR_CLUTTER[0] <= [layer.kind for layer in scene.layers].count(CLUTTER_LAYER) \
        <= NEAR_CLUTTER[1]
    make_mini_datasets(out, ['hqseg_natural'], num_train=2, num_val=1, show_progress=False,
                       world='cluttered')
    assert mini.mini_world_is_current(out, ['hqseg_natural'], 'cluttered')


def test_the_mini_hqseg_scenes_are_still_those_the_bundled_generator_was_trained_on():
    """The mini HQSeg set stays in the cartoon world, drawn exactly as when the bundled generator
    was trained (its recipe in checkpoints/README.md must keep reproducing it): a digest of the
    first scenes' pixels and layer maps, taken before the natural world was introduced."""
    import hashlib
    from unseg_mm.datasets.mini import WORLD_OF_FORMAT, _rng
    assert WORLD_OF_FORMAT['hqseg'] == 'cartoon'
    digest = hashlib.sha256()
    for i in range(3):
        scene = render_scene(_rng(0, 'hqseg', 'train', i), 160, 160, num_things=(1, 1),
                             distractors=int(_rng(0, 'hqseg', 'train', i).integers(0, 3)),
                             world='cartoon')
        digest.update(scene.image.tobytes())
        digest.update(scene.rasterize().tobytes())
    assert digest.hexdigest() == \
        '562a64095b90fe32d79b4c81c129df6bc9718d66299eb24cfa4fe899d72c27a9'
