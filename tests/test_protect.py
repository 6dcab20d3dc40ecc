"""protect() core, the offline tool and the UnSegProtect transform (one core, identical pixels)."""
import copy
import hashlib
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import mmcv
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from PIL import Image

from conftest import REPO_ROOT
from unseg_mm.apis.checkpoint import load_generator
from unseg_mm.apis.dataset_formats import format_spec, list_files
from unseg_mm.apis.methods import build_method
from unseg_mm.apis.protect import (NUM_CLASS_KEYS, ImagePrompts, ProtectConfig, _recolour, _turn,
                                   _unturn, _window_bounds, class_key, generate_patterns,
                                   is_kept_clean, protect, window_starts)
from unseg_mm.apis.progress import complete_manifest
from unseg_mm.apis.protect_dataset import MANIFEST, PREVIEW, build_samples
from unseg_mm.datasets import UnSegProtect

ROOTS = {
    'voc': 'VOCdevkit/VOC2012',
    'ade20k': 'ADEChallengeData2016',
    'cityscapes': 'cityscapes',
    'coco': 'coco',
    'coco_panoptic': 'coco',
    'hqseg': 'hqseg',
}
EPS = dict(voc=(8, 2), ade20k=(8, 2), cityscapes=(8, 2), coco=(8, 2), coco_panoptic=(6, 1),
           hqseg=(16, 4))


def _tool(*args):
    from tools_entry import protect_main  # noqa: F401  (tools/ is not a package)
    return protect_main(list(args))


@pytest.fixture(autouse=True)
def _tools_on_path(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO_ROOT, 'tests'))


def _digest(root):
    return {rel: hashlib.sha256(open(osp.join(root, rel), 'rb').read()).hexdigest()
            for rel in list_files(root)}


def _image(seed=0, shape=(90, 120)):
    return np.random.default_rng(seed).integers(0, 256, shape + (3, ), dtype=np.uint8)


def _box(shape, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


# ------------------------------------------------------------------------------------------------
# core


def test_protect_respects_budgets_and_is_deterministic(tiny_generator_file):
    generator = load_generator(tiny_generator_file)
    image = _image()
    a, b = _box(image.shape[:2], 10, 50, 20, 70), _box(image.shape[:2], 40, 80, 60, 110)
    keep = _box(image.shape[:2], 0, 8, 0, 120)
    prompts = ImagePrompts(objects=[a, b], keep_clean=keep)
    for prompt_type in ('mask', 'box', 'point'):
        for rule in ('union', 'per_object'):
            cfg = ProtectConfig(eps_object=8 / 255, eps_background=2 / 255,
                                prompt_type=prompt_type, multi_object=rule)
            first = protect([image], [prompts], generator, cfg, ['x.jpg'])[0]
            again = protect([image], [prompts], generator, cfg, ['x.jpg'])[0]
            assert np.array_equal(first.image, again.image)
            diff = np.abs(first.image.astype(int) - image.astype(int)).max(axis=2)
            region = a | b
            assert diff[region].max() <= 8 and diff[~region].max() <= 2
            assert diff[region].max() >= 4, 'object budget unused'
            assert diff[keep & ~region].max() == 0
            assert first.linf_object == diff[region].max()


def test_protect_leaves_object_free_images_unchanged(tiny_generator_file):
    generator = load_generator(tiny_generator_file)
    image = _image(1)
    out = protect([image], [ImagePrompts()], generator, ProtectConfig(), ['y.jpg'])[0]
    assert np.array_equal(out.image, image) and out.num_objects == 0


def test_point_prompts_do_not_depend_on_batching(tiny_generator_file):
    generator = load_generator(tiny_generator_file)
    images = [_image(i) for i in range(3)]
    prompts = [ImagePrompts(objects=[_box(images[0].shape[:2], 10, 60, 10, 60)])] * 3
    keys = ['a.jpg', 'b.jpg', 'c.jpg']
    one = protect(images, prompts, generator, ProtectConfig(prompt_type='point', batch_size=1),
                  keys)
    for i in range(3):
        single = protect([images[i]], [prompts[i]], generator,
                         ProtectConfig(prompt_type='point', batch_size=1), [keys[i]])[0]
        assert np.array_equal(single.image, one[i].image)


def test_bad_config_and_inputs_are_clear_errors(tiny_generator_file):
    with pytest.raises(ValueError, match='prompt_type'):
        ProtectConfig(prompt_type='scribble')
    with pytest.raises(ValueError, match='8/255'):
        ProtectConfig(eps_object=8)
    generator = load_generator(tiny_generator_file)
    image = _image()
    with pytest.raises(ValueError, match='z.jpg.*does not match'):
        protect([image], [ImagePrompts(objects=[np.ones((5, 5), bool)])], generator,
                ProtectConfig(), ['z.jpg'])


class _FixedPattern(torch.nn.Module):
    """A stand-in generator whose pattern is one fixed frame-space array, whatever the image and
    prompt (as a trained tile decoder nearly is): what class keying does to it is then exact."""
    img_size = 32

    def __init__(self):
        super().__init__()
        self.pattern = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def forward(self, images, prompts, region=None):
        return self.pattern.expand(len(images), -1, -1, -1).clone()


def test_class_keys_are_distinct_variants_of_one_pattern():
    keys = [class_key(0, label) for label in range(NUM_CLASS_KEYS)]
    assert sorted(keys) == list(range(NUM_CLASS_KEYS))  # every class id below 384 its own
    assert keys == [class_key(0, label) for label in range(NUM_CLASS_KEYS)]
    assert keys != [class_key(1, label) for label in range(NUM_CLASS_KEYS)]
    pattern = torch.rand(3, 6, 6, generator=torch.Generator().manual_seed(1))
    variants = set()
    for key in range(NUM_CLASS_KEYS):
        assert torch.equal(_unturn(_turn(pattern, key), key), pattern)
        variant = _recolour(_unturn(pattern, key), key)
        assert torch.equal(variant.abs().flatten().sort().values,
                           pattern.abs().flatten().sort().values)  # the same values, moved
        variants.add(variant.numpy().tobytes())
    assert len(variants) == NUM_CLASS_KEYS
    assert torch.equal(_recolour(_unturn(pattern, 0), 0), pattern)


def test_class_keyed_gives_each_class_its_variant():
    """Inside the objects of class c: the generator's pattern of the turned prompt, turned back
    and recoloured by c's key; elsewhere and on objects without a class: the union's pattern."""
    generator = _FixedPattern()
    image = _image(shape=(64, 64))
    a1, a2 = _box((64, 64), 2, 20, 2, 20), _box((64, 64), 40, 60, 40, 60)
    b, unknown = _box((64, 64), 2, 20, 40, 60), _box((64, 64), 40, 60, 2, 20)
    prompt = ImagePrompts(objects=[a1, b, a2, unknown], labels=[3, 7, 3])
    cfg = ProtectConfig(class_keyed=True)
    pattern = generate_patterns(generator, [image], [prompt], cfg, ['x.jpg'])[0]
    plain = generate_patterns(generator, [image], [prompt], ProtectConfig(), ['x.jpg'])[0]
    frame_to_image = torch.nn.functional.interpolate  # 32 -> 64: the frame is half the image
    for label, masks in ((3, (a1, a2)), (7, (b, ))):
        key = class_key(cfg.seed, label)
        assert key != 0
        variant = _recolour(_unturn(generator.pattern, key), key)
        expected = frame_to_image(variant[None], size=(64, 64), mode='bilinear',
                                  align_corners=False)[0]
        for mask in masks:
            inside = torch.from_numpy(mask)
            assert torch.allclose(pattern[:, inside], expected[:, inside], atol=1e-6)
            assert not torch.allclose(pattern[:, inside], plain[:, inside], atol=1e-3)
    rest = torch.from_numpy(~(a1 | a2 | b))
    assert torch.equal(pattern[:, rest], plain[:, rest])
    # without class ids the keyed run is the plain one, pixel for pixel
    unlabelled = ImagePrompts(objects=[a1, b])
    assert torch.equal(generate_patterns(generator, [image], [unlabelled], cfg, ['x.jpg'])[0],
                       generate_patterns(generator, [image], [unlabelled], ProtectConfig(),
                                         ['x.jpg'])[0])


def test_class_keyed_protection_keeps_budgets_and_batching(tiny_generator_file):
    generator = load_generator(tiny_generator_file)
    images = [_image(i) for i in range(3)]
    a, b = _box(images[0].shape[:2], 10, 50, 20, 70), _box(images[0].shape[:2], 40, 80, 60, 110)
    prompts = [ImagePrompts(objects=[a, b], labels=[1, 2]), ImagePrompts(objects=[b], labels=[2]),
               ImagePrompts(objects=[a], labels=[1])]
    keys = ['a.jpg', 'b.jpg', 'c.jpg']
    for prompt_type in ('mask', 'box', 'point'):
        cfg = dict(eps_object=8 / 255, eps_background=2 / 255, prompt_type=prompt_type,
                   class_keyed=True)
        one = protect(images, prompts, generator, ProtectConfig(batch_size=1, **cfg), keys)
        four = protect(images, prompts, generator, ProtectConfig(batch_size=4, **cfg), keys)
        plain = protect(images, prompts, generator,
                        ProtectConfig(batch_size=1, **dict(cfg, class_keyed=False)), keys)
        for image, x, y, z, prompt in zip(images, one, four, plain, prompts):
            assert np.abs(x.image.astype(int) - y.image.astype(int)).max() <= 1
            diff = np.abs(x.image.astype(int) - image.astype(int)).max(axis=2)
            region = np.any(prompt.objects, axis=0)
            assert diff[region].max() <= 8 and diff[~region].max() <= 2
            assert np.array_equal(x.image[~region], z.image[~region])
            assert not np.array_equal(x.image[region], z.image[region])
    with pytest.raises(ValueError, match="multi_object='union'"):
        ProtectConfig(class_keyed=True, multi_object='per_object')
    with pytest.raises(ValueError, match="parity='default'"):
        ProtectConfig(class_keyed=True, parity='reference')
    with pytest.raises(ValueError, match='class-wise already'):
        build_method('ar', ProtectConfig(class_keyed=True))


def test_nearest_upsampling_keeps_the_pattern_values():
    """``pattern_upsample='nearest'``: every image pixel takes one pattern pixel's value (a
    sign-alternating pattern stays at the full budget); bilinear makes ramps of it."""
    generator = _FixedPattern()
    generator.pattern = torch.where(generator.pattern >= 0, 1.0, -1.0)
    image = np.full((64, 64, 3), 128, np.uint8)
    prompt = ImagePrompts(objects=[_box((64, 64), 8, 40, 8, 40)], labels=[1])
    outs = {}
    for mode in ('bilinear', 'nearest'):
        cfg = ProtectConfig(pattern_upsample=mode)
        pattern = generate_patterns(generator, [image], [prompt], cfg, ['x.jpg'])[0]
        outs[mode] = protect([image], [prompt], generator, cfg, ['x.jpg'])[0].image
        if mode == 'nearest':  # 32 -> 64: each pattern pixel covers 2 x 2 image pixels
            assert torch.equal(pattern, generator.pattern.repeat_interleave(2, 1)
                               .repeat_interleave(2, 2))
    change = {m: np.abs(o.astype(int) - 128) for m, o in outs.items()}
    assert (change['nearest'] == 8).all()
    assert change['bilinear'].mean() < 7.5
    with pytest.raises(ValueError, match='pattern_upsample must be one of'):
        ProtectConfig(pattern_upsample='bicubic')
    with pytest.raises(ValueError, match="pattern_upsample='bilinear'"):
        ProtectConfig(pattern_upsample='nearest', parity='reference')
    with pytest.raises(ValueError, match='draws its own'):
        build_method('grating', ProtectConfig(pattern_upsample='nearest'))


def test_window_starts_cover_the_image_with_the_fewest_windows():
    for length in range(1, 300, 7):
        for side in (16, 50, 96, 160):
            starts = window_starts(length, side)
            assert len(starts) == max(1, -(-length // side))
            assert starts[0] == 0 and starts == sorted(set(starts))
            if length > side:
                assert starts[-1] + side == length
                assert max(b - a for a, b in zip(starts, starts[1:])) <= side  # no gaps
            bounds = _window_bounds(starts, side, length)
            assert bounds[0][0] == 0 and bounds[-1][1] == length
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            for start, (lo, hi) in zip(starts, bounds):  # every pixel inside its window
                assert start <= lo and hi <= start + side


def test_pattern_window_fixes_the_pattern_scale():
    """Each window is one frame (padded to the window's side): a pixel takes the pattern of
    the window whose centre is nearest, upsampled from the frame to the window's side; a window
    without objects is still prompted (with an empty mask); a window as large as the image is
    the plain run, pixel for pixel."""
    generator = _FixedPattern()
    shape = (40, 100)
    image = _image(shape=shape)
    prompt = ImagePrompts(objects=[_box(shape, 5, 30, 5, 30)], labels=[2])
    cfg = ProtectConfig(pattern_window=48)
    pattern = generate_patterns(generator, [image], [prompt], cfg, ['x.jpg'])[0]
    assert window_starts(40, 48) == [0] and window_starts(100, 48) == [0, 26, 52]
    framed = torch.nn.functional.interpolate(generator.pattern[None], size=(48, 48),
                                             mode='bilinear', align_corners=False)[0]
    for start, (lo, hi) in zip([0, 26, 52], [(0, 37), (37, 63), (63, 100)]):
        assert _window_bounds([0, 26, 52], 48, 100)[[0, 26, 52].index(start)] == (lo, hi)
        assert torch.allclose(pattern[:, :, lo:hi], framed[:, :40, lo - start:hi - start])
    # the whole image as one window: the plain run
    plain = generate_patterns(generator, [image], [prompt], ProtectConfig(), ['x.jpg'])[0]
    whole = ProtectConfig(pattern_window=100)
    assert torch.equal(generate_patterns(generator, [image], [prompt], whole, ['x.jpg'])[0],
                       plain)
    # images without objects stay unchanged, as without windows
    assert generate_patterns(generator, [image], [ImagePrompts()], cfg, ['x.jpg']) == [None]


def test_pattern_window_with_the_generator(tiny_generator_file):
    """A real generator: budgets hold, batching does not matter, the window as large as the
    image is the plain run; class keys compose with windows."""
    tiny_generator = load_generator(tiny_generator_file)
    shape = (48, 120)
    images = [_image(seed=s, shape=shape) for s in range(3)]
    prompts = [ImagePrompts(objects=[_box(shape, 4, 30, 10 + 30 * s, 50 + 30 * s)], labels=[s])
               for s in range(3)]
    keys = [f'{s}.jpg' for s in range(3)]
    outs = {}
    for batch in (1, 4):
        for keyed in (False, True):
            cfg = ProtectConfig(pattern_window=64, batch_size=batch, class_keyed=keyed)
            outs[batch, keyed] = protect(images, prompts, tiny_generator, cfg, keys)
            for result in outs[batch, keyed]:
                assert result.linf_object <= 8 and result.linf_background <= 8
    for keyed in (False, True):
        for a, b in zip(outs[1, keyed], outs[4, keyed]):
            assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1
    plain = protect(images, prompts, tiny_generator, ProtectConfig(), keys)
    whole = protect(images, prompts, tiny_generator, ProtectConfig(pattern_window=120), keys)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(plain, whole))
    assert not np.array_equal(plain[0].image, outs[1, False][0].image)


def test_the_generators_own_window_is_the_default(tiny_generator_file):
    """Unset, the window is the generator's (its checkpoint's ``pattern_window``): on an image
    larger than it, the explicit window's result; on an image whose longer side it is, the whole
    image's; for box prompts (windows need masks) the whole image, without an error."""
    generator = load_generator(tiny_generator_file)
    wide, fits = (48, 120), (48, 64)
    images = [_image(seed=0, shape=wide), _image(seed=1, shape=fits)]
    prompts = [ImagePrompts(objects=[_box(shape, 4, 30, 10, 50)], labels=[1])
               for shape in (wide, fits)]
    keys = ['wide.jpg', 'fits.jpg']

    def run(cfg):
        return [r.image for r in protect(images, prompts, generator, cfg, keys)]

    generator.pattern_window = 0
    whole, whole_box = run(ProtectConfig()), run(ProtectConfig(prompt_type='box'))
    windowed = run(ProtectConfig(pattern_window=64))
    generator.pattern_window = 64
    own = run(ProtectConfig())
    assert np.array_equal(own[0], windowed[0]) and not np.array_equal(own[0], whole[0])
    assert np.array_equal(own[1], whole[1]) and np.array_equal(own[1], windowed[1])
    assert all(np.array_equal(a, b) for a, b in zip(run(ProtectConfig(pattern_window=0)), whole))
    assert all(np.array_equal(a, b)
               for a, b in zip(run(ProtectConfig(prompt_type='box')), whole_box))


def test_pattern_window_validation():
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match='pattern_window must be None'):
            ProtectConfig(pattern_window=bad)
    with pytest.raises(ValueError, match="prompt_type='mask'"):
        ProtectConfig(pattern_window=64, prompt_type='box')
    with pytest.raises(ValueError, match="parity='default'"):
        ProtectConfig(pattern_window=64, parity='reference')
    with pytest.raises(ValueError, match='draws its own'):
        build_method('ar', ProtectConfig(pattern_window=64))


def test_one_budget_on_every_pixel_by_default(mini_root, tmp_path):
    """Without --eps-bg (eps_background) the object budget holds on every pixel; the released
    scripts' split (2/255 elsewhere) is an option. The manifest records the budget applied."""
    assert ProtectConfig().eps_background == ProtectConfig().eps_object == 8 / 255
    assert ProtectConfig(eps_object=16 / 255).eps_background == 16 / 255
    assert ProtectConfig(eps_background=2 / 255).eps_background == 2 / 255
    assert UnSegProtect(method='uniform', eps_object=4 / 255).cfg.eps_background == 4 / 255
    src = osp.join(mini_root, ROOTS['voc'])
    for name, extra, background in (('flat', [], 4), ('split', ['--eps-bg', '1/255'], 1)):
        dst = str(tmp_path / name)
        assert _tool('--format', 'voc', '--src', src, '--dst', dst, '--method', 'uniform',
                     '--eps', '4/255', *extra, '--no-progress') == 0
        manifest = json.load(open(osp.join(dst, MANIFEST)))
        assert manifest['settings']['eps_object'] == 4 / 255
        assert manifest['settings']['eps_background'] == background / 255
        assert max(e['linf_background'] for e in manifest['images']) == background


def test_mix_clean_choice_is_a_stable_fraction():
    keys = [f'{i:06d}.jpg' for i in range(2000)]
    kept = [k for k in keys if is_kept_clean(k, 0, 0.3)]
    assert 0.25 < len(kept) / len(keys) < 0.35
    assert kept == [k for k in keys if is_kept_clean(k, 0, 0.3)]
    assert not any(is_kept_clean(k, 0, 0.0) for k in keys)


# ------------------------------------------------------------------------------------------------
# offline tool on every format, and the transform giving the same pixels


@pytest.fixture(scope='module')
def protected(mini_root, tiny_generator_file, tmp_path_factory):
    """Every mini format protected once by the offline tool (the default, lossless settings)."""
    out = {}
    base = tmp_path_factory.mktemp('protected')
    for fmt, rel in ROOTS.items():
        src = osp.join(mini_root, rel)
        before = _digest(src)
        dst = str(base / fmt)
        eps, eps_bg = EPS[fmt]
        code = _tool('--format', fmt, '--src', src, '--dst', dst, '--checkpoint',
                     tiny_generator_file, '--eps', f'{eps}/255', '--eps-bg', f'{eps_bg}/255',
                     '--no-progress')
        assert code == 0
        assert _digest(src) == before, f'{fmt}: the source tree was modified'
        out[fmt] = (src, dst)
    return out


@pytest.mark.parametrize('fmt', sorted(ROOTS))
def test_offline_tool_copies_everything_and_protects_training_images(fmt, protected, mini_root):
    src, dst = protected[fmt]
    spec = format_spec(fmt, src)
    training = {osp.relpath(s['img_path'], src) for s in build_samples(spec, src)}
    src_files, dst_files = _digest(src), _digest(dst)
    extra = {f for f in dst_files if f not in src_files}
    assert extra <= {MANIFEST, PREVIEW} | {f for f in extra if f.startswith('.unseg_progress')}
    eps, eps_bg = EPS[fmt]
    manifest = json.load(open(osp.join(dst, MANIFEST)))
    assert manifest['complete'] and manifest['counts']['failed'] == 0
    assert complete_manifest(dst) == manifest  # what the benchmarks take as a finished copy
    entries = {e['path']: e for e in manifest['images']}
    assert set(entries) == training
    for rel, digest in src_files.items():
        if rel not in training:
            assert dst_files[rel] == digest, f'{rel} was not copied byte for byte'
            continue
        entry = entries[rel]
        assert entry['src_sha256'] == digest and entry['out_sha256'] == dst_files[rel]
        if entry['status'] != 'protected':
            continue
        original = mmcv.imread(osp.join(src, rel))
        published = mmcv.imread(osp.join(dst, rel))
        assert published.shape == original.shape
        assert entry['linf_object'] <= eps and entry['linf_background'] <= eps_bg
        diff = np.abs(published.astype(int) - original.astype(int)).max(axis=2)
        assert 0 < diff.max() <= eps
        background = _independent_background(fmt, src, rel)
        if background is not None:  # read from the label files, not from the tool's own record
            assert diff[background].max(initial=0) <= eps_bg
            assert diff[~background].max(initial=0) > eps_bg
    assert sum(e['status'] == 'protected' for e in entries.values()) >= len(training) // 2
    assert osp.isfile(osp.join(dst, PREVIEW))


def _independent_background(fmt, src, rel):
    """Background pixels of a training image straight from its label file (VOC, HQSeg)."""
    stem = osp.splitext(osp.basename(rel))[0]
    if fmt == 'voc':
        label = np.array(Image.open(osp.join(src, 'SegmentationClass', stem + '.png')))
        return label == 0
    if fmt == 'hqseg':
        folder = osp.dirname(rel)
        gt = {'DIS5K/DIS-TR/im': 'DIS5K/DIS-TR/gt',
              'thin_object_detection/ThinObject5K/images_train':
              'thin_object_detection/ThinObject5K/masks_train'}.get(folder, folder)
        return np.array(Image.open(osp.join(src, gt, stem + '.png'))) <= 127
    return None


# The training pipelines' loading steps per format, as the stock configs have them; the
# transform is given the same format as the tool (its label rules).
LOADING = {
    'voc': ('mmseg', [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')],
            dict(format='voc')),
    'ade20k': ('mmseg', [dict(type='LoadImageFromFile'),
                         dict(type='LoadAnnotations', reduce_zero_label=True)],
               dict(format='ade20k')),
    'cityscapes': ('mmseg', [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')],
                   dict(format='cityscapes')),
    'coco': ('mmdet', [dict(type='LoadImageFromFile', to_float32=True),
                       dict(type='LoadAnnotations', with_bbox=True, with_mask=True)],
             dict(format='coco')),
    'coco_panoptic': ('mmdet', [dict(type='LoadImageFromFile'),
                                dict(type='LoadPanopticAnnotations')],
                      dict(format='coco_panoptic')),
    'hqseg': ('mmseg', [dict(type='LoadImageFromFile'), dict(type='LoadBinaryMask')],
              dict(format='hqseg')),
}


@pytest.mark.parametrize('fmt', sorted(ROOTS))
def test_transform_and_offline_tool_give_identical_pixels(fmt, protected, tiny_generator_file):
    src, dst = protected[fmt]
    scope, loading, extra = LOADING[fmt]
    eps, eps_bg = EPS[fmt]
    samples = build_samples(format_spec(fmt, src), src)[:3]
    transform = dict(type='UnSegProtect', checkpoint=tiny_generator_file, eps_object=eps / 255,
                     eps_background=eps_bg / 255, **extra)
    with DefaultScope.overwrite_default_scope(scope):
        pipeline = Compose(loading + [transform])
    for info in samples:
        results = pipeline(copy.deepcopy(info))
        offline = mmcv.imread(osp.join(dst, osp.relpath(info['img_path'], src)))
        assert np.array_equal(results['img'].astype(np.uint8), offline), info['img_path']
        assert results['img'].dtype == (np.float32 if fmt == 'coco' else np.uint8)


def test_transform_reads_the_cache_and_reports_misses(protected, tmp_path):
    src, dst = protected['voc']
    info = build_samples(format_spec('voc', src), src)[0]
    cached = UnSegProtect(cache=dict(src_root=src, protected_root=dst))
    with DefaultScope.overwrite_default_scope('mmseg'):
        loading = Compose(LOADING['voc'][1])
    results = cached(loading(copy.deepcopy(info)))
    assert np.array_equal(results['img'], mmcv.imread(osp.join(dst, osp.relpath(info['img_path'],
                                                                                 src))))
    empty = UnSegProtect(cache=dict(src_root=src, protected_root=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match='missing from the cache'):
        empty(loading(copy.deepcopy(info)))


def test_transform_is_registered_for_both_scopes_and_pickles_without_model(tiny_generator_file):
    import pickle
    from mmdet.registry import TRANSFORMS as DET
    from mmseg.registry import TRANSFORMS as SEG
    for scope, registry in (('mmseg', SEG), ('mmdet', DET)):
        with DefaultScope.overwrite_default_scope(scope):
            t = registry.build(dict(type='UnSegProtect', checkpoint=tiny_generator_file))
        assert isinstance(t, UnSegProtect)
    t.method.generator  # loads
    assert t.method._generator is not None
    clone = pickle.loads(pickle.dumps(t))
    assert clone.method._generator is None  # each dataloader worker loads its own


def test_with_protection_patches_training_pipelines_only():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'deeplabv3_unseg.py'))
    for leaf in cfg.train_dataloader.dataset.datasets:
        types = [t['type'] for t in leaf.pipeline]
        assert types.index('UnSegProtect') == types.index('LoadAnnotations') + 1
    assert 'UnSegProtect' not in [t['type'] for t in cfg.val_dataloader.dataset.pipeline]
    assert 'unseg_mm' in cfg.custom_imports.imports


FULL_CONFIGS = {
    'deeplabv3_unseg.py': ('voc', 'data/VOCdevkit/VOC2012', 'data/VOCdevkit/VOC2012_unseg'),
    'mask2former_unseg.py': ('coco_panoptic', 'data/coco', 'data/coco_unseg'),
    'dino_unseg.py': ('coco', 'data/coco', 'data/coco_unseg'),
}


@pytest.mark.parametrize('config', sorted(FULL_CONFIGS))
def test_full_size_configs_train_on_the_protected_copy(config, protected, tmp_path):
    """The full-size configs (stock config + a few lines) build their runner and model, and their
    stock training pipeline reads the offline tool's protected images; val stays clean."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from unseg_mm.apis.config_utils import rebase_paths
    fmt, data, data_unseg = FULL_CONFIGS[config]
    src, dst = protected[fmt]
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    rebase_paths(cfg, data_unseg, dst)
    rebase_paths(cfg, data, src)
    cfg.work_dir = str(tmp_path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    assert 'UnSegProtect' not in str(cfg.val_dataloader)
    runner = Runner.from_cfg(cfg)
    dataset = runner.train_dataloader.dataset
    sample = dataset[0]
    assert sample['inputs'].shape[0] == 3 and sample['data_samples'] is not None
    # Remove the protected copy of the first image: the pipeline must now fail on it (it reads
    # the cache, never the clean file silently).
    leaf = dataset.datasets[0] if hasattr(dataset, 'datasets') else dataset
    leaf = getattr(leaf, 'dataset', leaf)
    info = leaf.get_data_info(0)
    cached = osp.join(dst, osp.relpath(info['img_path'], src))
    assert osp.isfile(cached)
    moved = cached + '.away'
    os.rename(cached, moved)
    try:
        with pytest.raises(FileNotFoundError, match='missing from the cache'):
            leaf[0]
    finally:
        os.rename(moved, cached)


# ------------------------------------------------------------------------------------------------
# partial protection, mixing, sharding, JPEG


def test_partial_protection_leaves_other_classes_untouched(mini_root, tiny_generator_file,
                                                           tmp_path):
    src = osp.join(mini_root, 'VOCdevkit/VOC2012')
    dst = str(tmp_path / 'voc')
    assert _tool('--format', 'voc', '--src', src, '--dst', dst, '--checkpoint',
                 tiny_generator_file, '--classes', 'aeroplane,bicycle', '--no-progress') == 0
    manifest = json.load(open(osp.join(dst, MANIFEST)))
    for entry in manifest['images']:
        label = np.array(Image.open(osp.join(src, 'SegmentationClass',
                                             osp.basename(entry['path'])[:-4] + '.png')))
        original = mmcv.imread(osp.join(src, entry['path'])).astype(int)
        published = mmcv.imread(osp.join(dst, entry['path'])).astype(int)
        diff = np.abs(published - original).max(axis=2)
        others = ~np.isin(label, [0, 1, 2, 255])
        assert diff[others].max(initial=0) == 0
        if not np.isin(label, [1, 2]).any():
            assert entry['status'] != 'protected'


def test_stuff_as_background_prompts_the_things_only(mini_root, tiny_generator_file, tmp_path,
                                                      capsys):
    src = osp.join(mini_root, 'cityscapes')
    dst = str(tmp_path / 'city')
    assert _tool('--format', 'cityscapes', '--src', src, '--dst', dst, '--checkpoint',
                 tiny_generator_file, '--background-classes', 'stuff', '--eps', '8/255',
                 '--eps-bg', '2/255', '--no-progress') == 0
    manifest = json.load(open(osp.join(dst, MANIFEST)))
    assert manifest['settings']['background_classes'] == ['stuff']
    thing_pixels = 0
    for entry in manifest['images']:
        rel = entry['path'].replace('leftImg8bit/', 'gtFine/', 1).replace(
            '_leftImg8bit.png', '_gtFine_labelTrainIds.png')
        label = np.array(Image.open(osp.join(src, rel)))
        original = mmcv.imread(osp.join(src, entry['path'])).astype(int)
        published = mmcv.imread(osp.join(dst, entry['path'])).astype(int)
        diff = np.abs(published - original).max(axis=2)
        things = (label >= 11) & (label < 255)  # trainIds 11-18: person ... bicycle
        assert diff[~things].max(initial=0) <= 2  # stuff: the background budget
        assert diff[things].max(initial=0) <= 8
        thing_pixels += int(things.sum())
        if things.any():
            assert entry['status'] == 'protected' and diff[things].max() > 2
    assert thing_pixels > 0
    # ... which is the default on this format: the same settings and the same bytes
    default = str(tmp_path / 'default')
    assert _tool('--format', 'cityscapes', '--src', src, '--dst', default, '--checkpoint',
                 tiny_generator_file, '--eps', '8/255', '--eps-bg', '2/255', '--no-progress') == 0
    default_manifest = json.load(open(osp.join(default, MANIFEST)))
    assert default_manifest['settings']['background_classes'] == ['stuff']
    assert [(e['path'], e['out_sha256']) for e in default_manifest['images']] == [
        (e['path'], e['out_sha256']) for e in manifest['images']]
    # 'none': every labelled region is an object, stuff gets the object budget
    everything = str(tmp_path / 'all')
    assert _tool('--format', 'cityscapes', '--src', src, '--dst', everything, '--checkpoint',
                 tiny_generator_file, '--background-classes', 'none', '--eps', '8/255',
                 '--eps-bg', '2/255', '--no-progress') == 0
    assert 'background_classes' not in json.load(open(osp.join(everything, MANIFEST)))['settings']
    entry = manifest['images'][0]
    diff = np.abs(mmcv.imread(osp.join(everything, entry['path'])).astype(int) -
                  mmcv.imread(osp.join(src, entry['path'])).astype(int)).max(axis=2)
    assert diff.max() > 2
    # formats without a stuff list: a clear error
    code = _tool('--format', 'voc', '--src', osp.join(mini_root, 'VOCdevkit/VOC2012'), '--dst',
                 str(tmp_path / 'x'), '--checkpoint', tiny_generator_file,
                 '--background-classes', 'stuff', '--no-progress')
    assert code == 2 and 'has no stuff classes' in capsys.readouterr().err


def test_unknown_class_is_a_clear_error(mini_root, tiny_generator_file, tmp_path, capsys):
    code = _tool('--format', 'voc', '--src', osp.join(mini_root, 'VOCdevkit/VOC2012'), '--dst',
                 str(tmp_path / 'x'), '--checkpoint', tiny_generator_file, '--classes',
                 'spaceship', '--no-progress')
    assert code == 2 and "unknown class 'spaceship'" in capsys.readouterr().err


def test_shards_and_mix_ratio(mini_root, tiny_generator_file, tmp_path):
    src = osp.join(mini_root, 'hqseg')
    single, sharded = str(tmp_path / 'single'), str(tmp_path / 'sharded')
    common = ['--format', 'hqseg', '--src', src, '--checkpoint', tiny_generator_file,
              '--mix-clean-ratio', '0.5', '--no-progress']
    assert _tool(*common, '--dst', single) == 0
    assert _tool(*common, '--dst', sharded, '--num-shards', '2', '--shard-id', '1') == 0
    assert not osp.isfile(osp.join(sharded, MANIFEST))  # shard 0 still missing
    assert _tool(*common, '--dst', sharded, '--num-shards', '2', '--shard-id', '0') == 0
    one, two = _digest(single), _digest(sharded)
    images = [k for k in one if k.endswith('.jpg')]
    assert all(one[k] == two[k] for k in images)
    manifest = json.load(open(osp.join(sharded, MANIFEST)))
    unchanged = [e for e in manifest['images'] if e['status'] == 'clean (mix)']
    assert 0 < len(unchanged) < len(manifest['images'])
    assert all(is_kept_clean(osp.basename(e['path']), 0, 0.5) for e in unchanged)


def test_jpeg_output_needs_the_flag_and_warns(mini_root, tiny_generator_file, tmp_path, capsys):
    src = osp.join(mini_root, 'hqseg')
    assert _tool('--format', 'hqseg', '--src', src, '--dst', str(tmp_path / 'j'),
                 '--checkpoint', tiny_generator_file, '--jpeg-quality', '95',
                 '--no-progress') == 0
    assert 'weakens the protection' in capsys.readouterr().err
    manifest = json.load(open(osp.join(tmp_path / 'j', MANIFEST)))
    assert {e['encoding'] for e in manifest['images'] if e['status'] == 'protected'} == \
        {'jpeg q95'}


# ------------------------------------------------------------------------------------------------
# interruption and bad input


def _run_tool_process(args):
    return subprocess.Popen([sys.executable, osp.join(REPO_ROOT, 'tools', 'protect_dataset.py'),
                             *args], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_sigkill_then_resume_is_byte_identical(mini_root, tiny_generator_file, tmp_path):
    src = osp.join(mini_root, 'VOCdevkit/VOC2012')
    common = ['--format', 'voc', '--src', src, '--checkpoint', tiny_generator_file,
              '--batch-size', '2', '--no-progress']
    reference = str(tmp_path / 'reference')
    assert _tool(*common, '--dst', reference, '--workers', '0') == 0  # one step at a time
    resumed = str(tmp_path / 'resumed')  # the pipelined tool (2 workers), killed and resumed
    proc = _run_tool_process(common + ['--dst', resumed])
    shard = osp.join(resumed, '.unseg_progress', 'shard-0000-of-0001.jsonl')
    deadline = time.time() + 300
    while time.time() < deadline:
        if osp.isfile(shard) and sum(1 for _ in open(shard)) >= 3:
            break
        if proc.poll() is not None:
            pytest.fail('the run finished before it could be interrupted')
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not osp.isfile(osp.join(resumed, MANIFEST))  # an interrupted run is not complete
    assert complete_manifest(resumed) is None
    for f in list_files(resumed):  # a killed write may leave a temporary file, never a final name
        if osp.basename(f).startswith('.tmp_'):
            assert f.endswith('.partial')
    proc = _run_tool_process(common + ['--dst', resumed])
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert 'already done' in out and ' 0 already done' not in out
    ref, res = _digest(reference), _digest(resumed)
    for rel, digest in ref.items():
        if rel.startswith('.unseg_progress'):
            continue
        assert res.get(rel) == digest, rel  # images, manifest and preview


def _voc_copy(mini_root, tmp_path):
    src = str(tmp_path / 'voc_src')
    shutil.copytree(osp.join(mini_root, 'VOCdevkit/VOC2012'), src)
    names = open(osp.join(src, 'ImageSets/Segmentation/train.txt')).read().split()
    return src, names


def test_bad_items_are_reported_and_skipped(mini_root, tiny_generator_file, tmp_path, capsys):
    src, names = _voc_copy(mini_root, tmp_path)
    corrupt, missing, mismatched, truncated = names[0], names[1], names[2], names[3]
    with open(osp.join(src, 'JPEGImages', corrupt + '.jpg'), 'wb') as f:
        f.write(b'not an image at all')
    # a cut JPEG still decodes (OpenCV fills the rest with grey and only warns)
    path = osp.join(src, 'JPEGImages', truncated + '.jpg')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) * 2 // 3])
    assert mmcv.imread(path) is not None
    os.remove(osp.join(src, 'SegmentationClass', missing + '.png'))
    label = Image.open(osp.join(src, 'SegmentationClass', mismatched + '.png'))
    label.resize((label.width // 2, label.height // 2)).save(
        osp.join(src, 'SegmentationClass', mismatched + '.png'))
    dst = str(tmp_path / 'voc_dst')
    code = _tool('--format', 'voc', '--src', src, '--dst', dst, '--checkpoint',
                 tiny_generator_file, '--no-progress')
    out = capsys.readouterr().out
    assert code == 1
    manifest = json.load(open(osp.join(dst, MANIFEST)))
    failed = {osp.basename(f['path'])[:-4]: f['error'] for f in manifest['failures']}
    assert set(failed) == {corrupt, missing, mismatched, truncated}
    assert 'truncated' in failed[truncated]
    assert 'SegmentationClass' in failed[missing] and missing in failed[missing]
    assert 'is ' in failed[mismatched] and 'but the image' in failed[mismatched]
    for name in failed:
        assert f'FAILED JPEGImages/{name}.jpg' in out
        assert not osp.exists(osp.join(dst, 'JPEGImages', name + '.jpg'))
    assert manifest['counts']['protected'] + manifest['counts']['unchanged'] == len(names) - 4
    assert not manifest['complete'] and complete_manifest(dst) is None


def test_empty_hqseg_mask_is_a_failure(mini_root, tiny_generator_file, tmp_path):
    src = str(tmp_path / 'hq')
    shutil.copytree(osp.join(mini_root, 'hqseg'), src)
    gt_dir = osp.join(src, 'DIS5K/DIS-TR/gt')
    name = sorted(os.listdir(gt_dir))[0]
    Image.new('L', Image.open(osp.join(gt_dir, name)).size, 0).save(osp.join(gt_dir, name))
    dst = str(tmp_path / 'hq_dst')
    assert _tool('--format', 'hqseg', '--src', src, '--dst', dst, '--checkpoint',
                 tiny_generator_file, '--no-progress') == 1
    manifest = json.load(open(osp.join(dst, MANIFEST)))
    assert [osp.basename(f['path']) for f in manifest['failures']] == [name[:-4] + '.jpg']
    assert 'empty' in manifest['failures'][0]['error']
    # The transform given the same format applies the same rule (one sample -> prompts path).
    info = next(i for i in build_samples(format_spec('hqseg', src), src)
                if osp.basename(i['mask_path']) == name)
    with DefaultScope.overwrite_default_scope('mmseg'):
        pipeline = Compose(LOADING['hqseg'][1] + [dict(type='UnSegProtect', format='hqseg',
                                                       checkpoint=tiny_generator_file)])
        with pytest.raises(ValueError, match=f'{name}.*empty'):
            pipeline(copy.deepcopy(info))
        # Without the format (no rule that masks must have objects) it is left clean.
        lenient = Compose(LOADING['hqseg'][1] + [dict(type='UnSegProtect', background_labels=(0, ),
                                                      checkpoint=tiny_generator_file)])
        out = lenient(copy.deepcopy(info))
        assert np.array_equal(out['img'], mmcv.imread(info['img_path']))


def test_transform_format_sets_the_label_rules_and_explicit_labels_override():
    from unseg_mm.apis.dataset_formats import LABEL_RULES, label_rules
    assert set(LABEL_RULES) == set(ROOTS) | {'folder'}
    assert UnSegProtect(method='uniform', format='voc').rules.background_labels == (0, )
    assert UnSegProtect(method='uniform', format='ade20k').rules.background_labels == ()
    assert UnSegProtect(method='uniform').rules == UnSegProtect(method='uniform',
                                                                format='coco').rules
    custom = UnSegProtect(method='uniform', format='voc', background_labels=(0, 15))
    assert custom.rules.background_labels == (0, 15)
    assert custom.rules.ignore_labels == label_rules('voc').ignore_labels
    with pytest.raises(ValueError, match='unknown format'):
        UnSegProtect(method='uniform', format='pascal')
    # The generator on the fully-labelled formats: stuff is background by default (the tool's
    # default too); background_classes=[] prompts every region; class-wise methods keep all.
    cached = dict(cache=dict(src_root='.', protected_root='.'))
    city = UnSegProtect(format='cityscapes', **cached).rules.background_labels
    assert city == tuple(range(11))  # trainIds 0-10: road ... sky
    assert UnSegProtect(format='cityscapes', background_classes=[],
                        **cached).rules.background_labels == ()
    assert UnSegProtect(method='synper', format='cityscapes').rules.background_labels == ()
    panoptic = UnSegProtect(format='coco_panoptic', **cached).rules.background_labels
    assert len(panoptic) == 53 and min(panoptic) == 80  # COCO's stuff, after its 80 things
    assert UnSegProtect(format='coco', **cached).rules.background_labels == ()
    # ADE20K: the 50 stuff classes of its panoptic benchmark (wall 0, sky 2, floor 3, ...), by
    # the label ids LoadAnnotations(reduce_zero_label=True) gives; person (12), car (20) prompted
    ade = UnSegProtect(format='ade20k', **cached).rules.background_labels
    assert len(set(ade)) == 50 and {0, 2, 3} <= set(ade) and not {12, 20} & set(ade)
    assert UnSegProtect(format='ade20k', background_classes=[],
                        **cached).rules.background_labels == ()
    with pytest.raises(ValueError, match='needs format'):
        UnSegProtect(background_classes=['stuff'], **cached)


def test_setup_errors_exit_2_with_the_reason(mini_root, tiny_generator_file, tiny_sam_file,
                                             tmp_path, capsys):
    voc = osp.join(mini_root, 'VOCdevkit/VOC2012')
    assert _tool('--format', 'voc', '--src', voc, '--dst', str(tmp_path / 'a'), '--checkpoint',
                 tiny_sam_file, '--no-progress') == 2
    assert 'not a generator checkpoint' in capsys.readouterr().err
    assert _tool('--format', 'ade20k', '--src', voc, '--dst', str(tmp_path / 'b'),
                 '--checkpoint', tiny_generator_file, '--no-progress') == 2
    err = capsys.readouterr().err
    assert 'images/training' in err and 'Expected layout' in err
    assert _tool('--format', 'voc', '--src', voc, '--dst', osp.join(voc, 'out'),
                 '--checkpoint', tiny_generator_file, '--no-progress') == 2
    assert 'must not be the source or inside it' in capsys.readouterr().err
    # A SAM file of another architecture than the generator's.
    import torch
    state = torch.load(tiny_sam_file, weights_only=True)
    state['image_encoder.patch_embed.proj.weight'] = torch.zeros(64, 3, 16, 16)
    wrong = str(tmp_path / 'wrong_sam.pth')
    torch.save(state, wrong)
    assert _tool('--format', 'voc', '--src', voc, '--dst', str(tmp_path / 'd'), '--checkpoint',
                 tiny_generator_file, '--sam-checkpoint', wrong, '--no-progress') == 2
    err = capsys.readouterr().err
    assert 'wrong_sam.pth' in err and 'does not match this architecture' in err
    with pytest.raises(SystemExit) as exc:
        _tool('--format', 'kitti', '--src', voc, '--dst', str(tmp_path / 'c'), '--checkpoint',
              tiny_generator_file)
    assert exc.value.code == 2


def test_keyed_nearest_window_tool_records_them_and_matches_the_transform(mini_root,
                                                                          tiny_generator_file,
                                                                          tmp_path, capsys):
    src = osp.join(mini_root, ROOTS['voc'])
    dst = str(tmp_path / 'keyed')
    assert _tool('--format', 'voc', '--src', src, '--dst', dst, '--checkpoint',
                 tiny_generator_file, '--class-keyed', '--pattern-upsample', 'nearest',
                 '--pattern-window', '96', '--preview', '0', '--no-progress') == 0
    settings = json.load(open(osp.join(dst, MANIFEST)))['settings']
    assert settings['class_keyed'] is True and settings['pattern_upsample'] == 'nearest'
    assert settings['pattern_window'] == 96
    scope, loading, extra = LOADING['voc']
    with DefaultScope.overwrite_default_scope(scope):
        pipeline = Compose(loading + [dict(type='UnSegProtect', checkpoint=tiny_generator_file,
                                           class_keyed=True, pattern_upsample='nearest',
                                           pattern_window=96, **extra)])
    for info in build_samples(format_spec('voc', src), src)[:2]:
        results = pipeline(copy.deepcopy(info))
        offline = mmcv.imread(osp.join(dst, osp.relpath(info['img_path'], src)))
        assert np.array_equal(results['img'], offline), info['img_path']
    # without them the settings are as they were (no entries); baselines refuse them
    assert _tool('--format', 'voc', '--src', src, '--dst', str(tmp_path / 'u'), '--method',
                 'uniform', '--class-keyed', '--no-progress') == 2
    assert '--pattern-window are for --method unseg' in capsys.readouterr().err
    assert _tool('--format', 'voc', '--src', src, '--dst', str(tmp_path / 'v'), '--method',
                 'uniform', '--preview', '0', '--no-progress') == 0
    settings = json.load(open(osp.join(tmp_path / 'v', MANIFEST)))['settings']
    assert not {'class_keyed', 'pattern_upsample', 'pattern_window'} & set(settings)


# ------------------------------------------------------------------------------------------------
# reproducibility contract: one numerical path -> byte-identical output; other paths are pinned,
# refused or recorded


@pytest.fixture
def _restore_threads():
    import torch
    before = torch.get_num_threads()
    yield torch
    torch.set_num_threads(before)


def _images_digest(root):
    return {k: v for k, v in _digest(root).items() if k.startswith('JPEGImages')}


def test_shards_on_other_thread_counts_match_one_process(mini_root, tiny_generator_file,
                                                         tmp_path, _restore_threads, capsys):
    torch = _restore_threads
    src = osp.join(mini_root, 'VOCdevkit/VOC2012')
    common = ['--format', 'voc', '--src', src, '--checkpoint', tiny_generator_file,
              '--batch-size', '2', '--no-progress']
    single, sharded = str(tmp_path / 'single'), str(tmp_path / 'sharded')
    torch.set_num_threads(2)
    assert _tool(*common, '--dst', single) == 0
    # shards in other processes: torchrun gives each one thread; the destination's pinned path
    # (2 threads, fixed by the first shard) is adopted by the later ones
    assert _tool(*common, '--dst', sharded, '--num-shards', '2', '--shard-id', '1',
                 '--num-threads', '2') == 0
    torch.set_num_threads(1)
    assert _tool(*common, '--dst', sharded, '--num-shards', '2', '--shard-id', '0') == 0
    assert torch.get_num_threads() == 1  # restored after the run
    assert _images_digest(single) == _images_digest(sharded)
    one = json.load(open(osp.join(single, MANIFEST)))
    two = json.load(open(osp.join(sharded, MANIFEST)))
    assert one['images'] == two['images']
    assert one['numerics'] == two['numerics'] and not two['numerics']['mixed']
    (path, ) = two['numerics']['paths'].values()
    assert path['num_threads'] == 2 and path['batch_size'] == 2
    assert all(e['numerics'] in two['numerics']['paths'] for e in two['images']
               if e['status'] == 'protected')

    # another path on the same destination is refused, naming the difference and the fix...
    mixed = str(tmp_path / 'mixed')
    assert _tool(*common, '--dst', mixed, '--num-shards', '2', '--shard-id', '0') == 0
    assert _tool(*common, '--dst', mixed, '--num-shards', '2', '--shard-id', '1',
                 '--num-threads', '2') == 2
    err = capsys.readouterr().err
    assert 'num_threads: 1 -> 2' in err and '--allow-mixed-numerics' in err
    assert not osp.isfile(osp.join(mixed, MANIFEST))
    # ... or, when allowed, recorded image by image
    assert _tool(*common, '--dst', mixed, '--num-shards', '2', '--shard-id', '1',
                 '--num-threads', '2', '--allow-mixed-numerics') == 0
    manifest = json.load(open(osp.join(mixed, MANIFEST)))
    assert manifest['numerics']['mixed']
    assert sorted(p['num_threads'] for p in manifest['numerics']['paths'].values()) == [1, 2]


def test_batch_sizes_are_paths_within_one_grey_level(mini_root, tiny_generator_file, tmp_path,
                                                      capsys):
    src = osp.join(mini_root, 'VOCdevkit/VOC2012')
    common = ['--format', 'voc', '--src', src, '--checkpoint', tiny_generator_file,
              '--num-threads', '2', '--no-progress']
    roots = {}
    for batch in (1, 4):
        roots[batch] = str(tmp_path / f'b{batch}')
        assert _tool(*common, '--batch-size', str(batch), '--dst', roots[batch]) == 0
    manifests = {b: json.load(open(osp.join(r, MANIFEST))) for b, r in roots.items()}
    assert [p['batch_size'] for p in manifests[1]['numerics']['paths'].values()] == [1]
    assert [p['batch_size'] for p in manifests[4]['numerics']['paths'].values()] == [4]
    for entry in manifests[1]['images']:
        a = mmcv.imread(osp.join(roots[1], entry['path'])).astype(int)
        b = mmcv.imread(osp.join(roots[4], entry['path'])).astype(int)
        assert np.abs(a - b).max() <= 1, entry['path']
    # resuming with another batch size is another path
    assert _tool(*common, '--batch-size', '4', '--dst', roots[1]) == 2
    assert 'batch_size: 1 -> 4' in capsys.readouterr().err


def test_pipelined_tool_output_does_not_depend_on_workers_or_batches(mini_root,
                                                                    tiny_generator_file, tmp_path):
    """Decoding ahead and writing behind the generator in worker threads changes no byte: files,
    progress records and manifest of 0, 2 and 3 workers are identical; a method without a
    generator also gives identical files at batch 1 and 4."""
    src = osp.join(mini_root, 'VOCdevkit/VOC2012')
    common = ['--format', 'voc', '--src', src, '--no-progress', '--num-threads', '2']
    digests = {}
    for workers in (0, 2, 3):
        dst = str(tmp_path / f'unseg_w{workers}')
        assert _tool(*common, '--checkpoint', tiny_generator_file, '--batch-size', '4',
                     '--workers', str(workers), '--dst', dst) == 0
        digest = _digest(dst)
        digest.pop('.unseg_progress/shard-0000-of-0001.done.json')  # timings
        digests[workers] = digest
    assert digests[0] == digests[2] == digests[3]
    assert any(rel.endswith('.jpg') for rel in digests[0])
    images = {}
    for batch in (1, 4):
        dst = str(tmp_path / f'grating_b{batch}')
        assert _tool(*common, '--method', 'grating', '--batch-size', str(batch), '--dst',
                     dst) == 0
        images[batch] = {rel: d for rel, d in _digest(dst).items() if rel.endswith('.jpg')}
        manifest = json.load(open(osp.join(dst, MANIFEST)))
        assert manifest['settings']['batch_size'] == batch
        images[batch]['manifest images'] = json.dumps(manifest['images'], sort_keys=True)
    assert images[1] == images[4]
    assert _tool(*common, '--method', 'grating', '--workers', '-1', '--dst',
                 str(tmp_path / 'x')) == 2


def test_written_files_get_the_umask_mode_from_many_threads(tmp_path):
    """The tool writes from several threads: every file it renames into place has the mode any
    new file gets under the process umask (never mkstemp's private 0600, never world-writable),
    and writing leaves the umask as it was (it is never swapped)."""
    import stat
    from concurrent.futures import ThreadPoolExecutor
    from unseg_mm.apis import fileio
    src = tmp_path / 'src.bin'
    src.write_bytes(b'x' * 100)
    interval = sys.getswitchinterval()
    old = os.umask(0o027)
    sys.setswitchinterval(1e-6)
    try:
        def write(i):
            if i % 2:
                fileio.atomic_write(str(tmp_path / f'w{i}.png'), b'data')
            else:
                fileio.atomic_copy(str(src), str(tmp_path / f'c{i}.png'))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, range(400)))
        modes = {stat.S_IMODE(os.stat(p).st_mode) for p in tmp_path.glob('[wc]*.png')}
        assert modes == {0o640} and os.umask(0o027) == 0o027
        assert len(list(tmp_path.glob('[wc]*.png'))) == 400
        assert not list(tmp_path.glob('.tmp_*'))
    finally:
        sys.setswitchinterval(interval)
        os.umask(old)


def test_progress_records_latest_entry_wins_and_cut_lines_are_redone(tmp_path):
    from unseg_mm.apis.progress import Status, append_records, read_records
    path = str(tmp_path / 'p' / 'shard-0000-of-0001.jsonl')
    append_records(path, [dict(path='a.jpg', status=Status.FAILED.value, error='x')])
    append_records(path, [dict(path='b.jpg', status=Status.CLEAN_MIX.value)])
    append_records(path, [dict(path='a.jpg', status=Status.PROTECTED.value)])
    with open(path, 'a') as f:
        f.write('{"path": "c.jpg", "sta')  # a line cut by a kill
    records = read_records(path)
    assert sorted(records) == ['a.jpg', 'b.jpg']
    # the resumed run's first entry is not swallowed by the cut line
    append_records(path, [dict(path='d.jpg', status=Status.CLEAN_MIX.value)])
    assert sorted(read_records(path)) == ['a.jpg', 'b.jpg', 'd.jpg']
    assert Status(records['a.jpg']['status']) is Status.PROTECTED
    assert Status(records['b.jpg']['status']).published_clean
    assert not Status.PROTECTED.published_clean
    with pytest.raises(ValueError):
        Status('protected + JPEGCompression')  # the tool writes only its own statuses


def test_publish_helper_restores_kept_pixels_rounds_and_measures():
    from unseg_mm.apis.publish import object_union, publish
    image = np.full((4, 4, 3), 100, np.uint8)
    obj = np.zeros((4, 4), bool)
    obj[:2] = True
    keep = np.zeros((4, 4), bool)
    keep[3, 3] = True
    changed = image.astype(np.float32)
    changed[:2] += 2.5   # inside the object: rounds half to even -> 102
    changed[2:] -= 1.4   # elsewhere -> 99, except the kept pixel
    result = publish(image, changed, ImagePrompts(objects=[obj], keep_clean=keep))
    assert (result.image[:2] == 102).all() and (result.image[2, :] == 99).all()
    assert (result.image[3, 3] == 100).all() and (result.image[3, :3] == 99).all()
    assert (result.linf_object, result.linf_background, result.num_objects) == (2, 1, 1)
    assert np.array_equal(object_union(ImagePrompts(), (2, 3)), np.zeros((2, 3), bool))


def test_region_linf_and_label_sets_match_the_plain_numpy_answers():
    """The tool's faster per-image helpers give numpy's answers: the L-inf change per region
    (also for strided views and empty or full regions) and the labels present in a map."""
    from unseg_mm.apis.publish import region_linf
    from unseg_mm.datasets.prompt_extraction import present_labels
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    published = np.clip(original.astype(np.int16) + rng.integers(-9, 10, original.shape),
                        0, 255).astype(np.uint8)
    for region in (rng.random((24, 32)) < 0.3, np.zeros((24, 32), bool), np.ones((24, 32), bool)):
        for a, b in ((original, published), (original[..., ::-1], published[..., ::-1])):
            diff = np.abs(b.astype(np.int16) - a.astype(np.int16)).max(axis=2)
            assert region_linf(a, b, region) == (int(diff[region].max(initial=0)),
                                                 int(diff[~region].max(initial=0)))
    for dtype, high in ((np.uint8, 256), (np.uint16, 3000), (np.int64, 40), (np.int32, 5)):
        seg = rng.integers(0, high, (16, 16)).astype(dtype)
        assert present_labels(seg) == [int(v) for v in np.unique(seg)]


def test_numerical_path_names_the_cpu_extensions(tmp_path, caplog):
    """The ISA extensions decide oneDNN's kernels: another set is another path; a destination
    pinned before the field existed is compared without it."""
    from types import SimpleNamespace

    from unseg_mm.apis.progress import (NUMERICS, PROGRESS_DIR, cpu_isa_flags, numerical_path,
                                        pin_numerics)
    cfg = SimpleNamespace(device='cpu', dtype='float32', batch_size=2)
    path = numerical_path(cfg, 2)
    assert path['cpu_isa'] == cpu_isa_flags()
    pinned = osp.join(tmp_path, PROGRESS_DIR, NUMERICS)
    os.makedirs(osp.dirname(pinned))

    def pin(recorded, **kwargs):
        with open(pinned, 'w') as f:
            json.dump(recorded, f)
        return pin_numerics(str(tmp_path), osp.join(osp.dirname(pinned), 's0.jsonl'), cfg, None,
                            **kwargs)

    assert pin(path, allow_mixed=False) == path
    old = {k: v for k, v in path.items() if k != 'cpu_isa'}
    assert pin(old, allow_mixed=False) == old  # started before the field: resumes
    other = dict(path, cpu_isa=['avx512_fp16', 'amx_tile'])
    with pytest.raises(ValueError, match=r"cpu_isa: \['avx512_fp16', 'amx_tile'\] -> "):
        pin(other, allow_mixed=False)
    assert pin(other, allow_mixed=True) == path
