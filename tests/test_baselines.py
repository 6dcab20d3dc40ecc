"""Class-wise baselines (SynPer, AR, CUDA) behind the same interface as UnSeg."""
import copy
import json
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope

from conftest import REPO_ROOT
from unseg_mm.apis import baselines
from unseg_mm.apis.dataset_formats import format_spec
from unseg_mm.apis.methods import build_method, method_names
from unseg_mm.apis.protect import ImagePrompts, ProtectConfig
from unseg_mm.apis.protect_dataset import MANIFEST, build_samples


@pytest.fixture(autouse=True)
def _tools_on_path(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO_ROOT, 'tests'))


def _tool(*args):
    from tools_entry import protect_main
    return protect_main(list(args))


def _image(seed=0, shape=(96, 128), low=0, high=256):
    return np.random.default_rng(seed).integers(low, high, shape + (3, ), dtype=np.uint8)


def _two_objects(shape=(96, 128)):
    a = np.zeros(shape, bool)
    a[8:56, 8:64] = True
    b = np.zeros(shape, bool)
    b[60:90, 70:120] = True
    return ImagePrompts(objects=[a, b], labels=[3, 7])


def test_registry_names_and_clear_errors():
    assert method_names() == ['ar', 'cuda', 'grating', 'synper', 'uniform', 'unseg']
    with pytest.raises(ValueError, match='unknown protection method'):
        build_method('em', ProtectConfig())
    with pytest.raises(ValueError, match='needs a generator checkpoint'):
        build_method('unseg', ProtectConfig())
    with pytest.raises(ValueError, match="bad options for method 'synper'"):
        build_method('synper', ProtectConfig(), options=dict(eps2=1.0))


@pytest.mark.parametrize('name', ['synper', 'ar', 'cuda', 'grating', 'uniform'])
def test_deterministic_per_seed_and_key_and_object_free_images_untouched(name):
    image, prompt = _image(), _two_objects()
    method = build_method(name, ProtectConfig(seed=3))
    first = method([image], [prompt], ['a.jpg'])[0].image
    again = build_method(name, ProtectConfig(seed=3))([image], [prompt], ['a.jpg'])[0].image
    assert np.array_equal(first, again)
    assert not np.array_equal(first, image)
    other_seed = build_method(name, ProtectConfig(seed=4))([image], [prompt], ['a.jpg'])[0].image
    assert not np.array_equal(first, other_seed)
    untouched = method([image], [ImagePrompts()], ['b.jpg'])[0]
    assert np.array_equal(untouched.image, image) and untouched.num_objects == 0


@pytest.mark.parametrize('name', ['synper', 'ar', 'cuda', 'grating', 'uniform'])
def test_keep_clean_pixels_are_untouched(name):
    image, prompt = _image(1), _two_objects()
    keep = np.zeros(image.shape[:2], bool)
    keep[:, 124:] = True  # a strip outside both objects
    prompt.keep_clean = keep
    out = build_method(name, ProtectConfig())([image], [prompt], ['c.jpg'])[0].image
    assert np.array_equal(out[keep], image[keep])
    assert not np.array_equal(out[~keep], image[~keep])


def test_synper_respects_the_region_budgets_and_is_class_wise():
    cfg = ProtectConfig(eps_object=8 / 255, eps_background=2 / 255)
    method = build_method('synper', cfg)
    grey = np.full((96, 128, 3), 128, np.uint8)  # no clipping: the change is the perturbation
    prompt = _two_objects()
    results = method([grey, grey], [prompt, prompt], ['x.jpg', 'y.jpg'])
    region = prompt.objects[0] | prompt.objects[1]
    for r in results:
        diff = r.image.astype(int) - 128
        assert r.linf_object <= 8 and r.linf_background <= 2
        assert np.abs(diff[region]).max() <= 8 and np.abs(diff[~region]).max() <= 2
    # Each class is a vertex of the hypercube: the sign of every colour block is fixed by the
    # class, while the per-image jitter changes magnitudes.
    d_x, d_y = (r.image.astype(int) - 128 for r in results)
    first = prompt.objects[0]
    assert not np.array_equal(d_x, d_y)
    agree = np.sign(d_x[first]) == np.sign(d_y[first])
    assert agree.mean() > 0.95
    swapped = ImagePrompts(objects=prompt.objects, labels=[7, 3])
    d_swap = method([grey], [swapped], ['x.jpg'])[0].image.astype(int) - 128
    assert (np.sign(d_swap[first]) == np.sign(d_x[first])).mean() < 0.75


def _change_of_grey(method, prompt, key='x.jpg'):
    """What ``method`` adds to a mid-grey image (no clipping), in grey levels."""
    grey = np.full((96, 128, 3), 128, np.uint8)
    return method([grey], [prompt], [key])[0].image.astype(int) - 128


def test_grating_moves_every_pixel_by_its_budget_with_one_grating_per_class():
    cfg = ProtectConfig(eps_object=8 / 255, eps_background=2 / 255)
    prompt = _two_objects()
    a, b = prompt.objects
    classwise = build_method('grating', cfg)
    d = _change_of_grey(classwise, prompt)
    assert set(np.unique(d[a | b])) == {-8, 8} and set(np.unique(d[~(a | b)])) == {-2, 2}
    # The pattern belongs to the class, not to the image or the object: the same class at the
    # same place in another image gets the same pixels, another class different ones.
    d_moved = _change_of_grey(classwise, ImagePrompts(objects=[a], labels=[7]), 'y.jpg')
    assert not np.array_equal(d_moved[a], d[a])
    d_same = _change_of_grey(classwise, ImagePrompts(objects=[a], labels=[3]), 'z.jpg')
    assert np.array_equal(d_same[a], d[a])
    # A square wave: half the pixels up, half down, in every channel.
    assert abs((d[a] > 0).mean() - 0.5) < 0.1
    # Class-agnostic: every object carries the same grating, whatever its class.
    agnostic = build_method('grating', cfg, options=dict(classwise=False))
    assert np.array_equal(_change_of_grey(agnostic, prompt),
                          _change_of_grey(agnostic, ImagePrompts(objects=[a, b], labels=[7, 3])))
    with pytest.raises(ValueError, match='period'):
        build_method('grating', cfg, options=dict(period=1))
    # Grey: the same square wave in every channel (luma only), still one per class.
    grey_method = build_method('grating', cfg, options=dict(grey=True, period=16))
    grey = _change_of_grey(grey_method, prompt)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1],
                                                                         grey[..., 2])
    assert set(np.unique(grey[a | b])) == {-8, 8}
    other_class = _change_of_grey(grey_method, ImagePrompts(objects=[a], labels=[7]), 'y.jpg')
    assert not np.array_equal(other_class[a], grey[a])
    assert not np.array_equal(d[..., 0], d[..., 1])  # the default's channels differ


def test_uniform_control_fills_the_budget_with_label_free_noise():
    prompt = _two_objects()
    a, b = prompt.objects
    method = build_method('uniform', ProtectConfig(eps_object=8 / 255, eps_background=2 / 255))
    d = _change_of_grey(method, prompt)
    assert np.abs(d[a | b]).max() == 8 and np.abs(d[~(a | b)]).max() == 2
    # Uniform over the budget's grey levels: every level -8..8 occurs, mean about 0.
    assert set(np.unique(d[a | b])) == set(range(-8, 9)) and abs(d[a | b].mean()) < 0.3
    # Label-free: swapping the classes of the objects changes nothing; another image key draws
    # fresh noise (no pattern is shared between images of a class).
    swapped = _change_of_grey(method, ImagePrompts(objects=[a, b], labels=[7, 3]))
    assert np.array_equal(swapped, d)
    other = _change_of_grey(method, prompt, 'y.jpg')
    assert abs(np.corrcoef(other[a].ravel(), d[a].ravel())[0, 1]) < 0.05


def test_ar_patterns_follow_their_class_process_at_the_l2_budget():
    method = baselines.AR(eps_object=8 / 255, eps_background=2 / 255, seed=0)
    rng = np.random.default_rng(0)
    pattern = method.pattern(3, (64, 96), rng)  # units of the object budget
    delta = pattern * 8 / 255  # [0, 1] intensity
    tiles = delta.reshape(2, 32, 3, 32, 3).transpose(0, 2, 1, 3, 4)
    norms = np.sqrt((tiles ** 2).sum(axis=(2, 3, 4)))
    assert np.allclose(norms, 1.0, atol=1e-5)  # eps2 = 1 per 32 x 32 x 3 tile, as the paper's
    # The class's matched filter (its coefficients, -1 at the predicted pixel) cancels its own
    # patterns inside a tile, and not another class's.
    def residual(label, field):
        b = method.coefficients(label).copy()
        b[:, 2, 2] = -1
        res = [cv2.filter2D(field[..., c].astype(np.float64), -1, b[c], anchor=(2, 2),
                            borderType=cv2.BORDER_CONSTANT)[2:30, 2:30] for c in range(3)]
        return np.abs(np.stack(res)).mean() / np.abs(field).mean()

    tile = pattern[:32, :32]
    assert residual(3, tile) < 1e-4
    assert residual(7, tile) > 0.1


def test_ar_through_the_interface_scales_the_background_by_the_budget_ratio():
    cfg = ProtectConfig(eps_object=8 / 255, eps_background=2 / 255)
    grey = np.full((64, 64, 3), 128, np.uint8)
    obj = np.zeros((64, 64), bool)
    obj[:32, :32] = True  # exactly one tile
    out = build_method('ar', cfg)([grey], [ImagePrompts([obj], [1])], ['a.png'])[0].image
    delta = (out.astype(float) - 128) / 255
    assert abs(np.sqrt((delta[:32, :32] ** 2).sum()) - 1.0) < 0.05
    assert abs(np.sqrt((delta[32:, 32:] ** 2).sum()) - 0.25) < 0.05


def test_cuda_impulse_response_is_the_class_filter():
    method = baselines.CUDA(kernel=3, blur=0.3, seed=0)
    for label in (2, 5):
        w = method.filter(label)
        assert w.shape == (3, 3) and (w == 1.0).sum() == 1
        assert ((w >= 0) & (w <= 0.3)).sum() == 8
    assert not np.array_equal(method.filter(2), method.filter(5))
    impulse = np.zeros((32, 32, 3), np.uint8)
    impulse[16, 16] = 200
    obj = np.ones((32, 32), bool)
    out = method([impulse], [ImagePrompts([obj], [5])], ['i.png'])[0].image
    # Convolution of an impulse is the filter; dividing by the maximum (the entry 1) gives it
    # back at full scale.
    assert np.abs(out[15:18, 15:18, 0] / 255 - method.filter(5)).max() <= 0.5 / 255 + 1e-6
    assert out[:14].max() == 0


def test_cuda_uses_each_class_filter_in_its_region():
    method = baselines.CUDA(seed=0)
    image = _image(2)
    prompt = _two_objects()
    out = method([image], [prompt], ['z.png'])[0].image
    for obj, label in zip(prompt.objects, prompt.labels):
        alone = method.filtered(image, label)
        assert np.abs(out[obj].astype(float) - alone[obj]).max() <= 0.5 + 1e-4


@pytest.mark.parametrize('name', ['synper', 'ar', 'cuda'])
def test_offline_tool_and_transform_agree_for_baselines(name, mini_root, tmp_path):
    src = osp.join(mini_root, 'VOCdevkit/VOC2012')
    dst = str(tmp_path / name)
    assert _tool('--format', 'voc', '--src', src, '--dst', dst, '--method', name,
                 '--no-progress') == 0
    with open(osp.join(dst, MANIFEST)) as f:
        manifest = json.load(f)
    assert manifest['complete'] and manifest['settings']['method'] == name
    samples = build_samples(format_spec('voc', src), src)[:3]
    with DefaultScope.overwrite_default_scope('mmseg'):
        pipeline = Compose([dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                            dict(type='UnSegProtect', method=name, background_labels=(0, ))])
    for info in samples:
        online = pipeline(copy.deepcopy(info))['img']
        offline = mmcv.imread(osp.join(dst, osp.relpath(info['img_path'], src)))
        assert np.array_equal(online, offline), info['img_path']
        assert not np.array_equal(offline, mmcv.imread(info['img_path']))


def test_resuming_with_another_method_is_refused(mini_root, tmp_path, capsys):
    src = osp.join(mini_root, 'hqseg')
    dst = str(tmp_path / 'out')
    assert _tool('--format', 'hqseg', '--src', src, '--dst', dst, '--method', 'synper',
                 '--no-progress') == 0
    assert _tool('--format', 'hqseg', '--src', src, '--dst', dst, '--method', 'cuda',
                 '--no-progress') == 2
    err = capsys.readouterr().err
    assert 'started with other settings' in err and "'synper' -> 'cuda'" in err


def test_tool_rejects_a_checkpoint_for_a_baseline_and_needs_one_for_unseg(mini_root, tmp_path,
                                                                          capsys):
    src = osp.join(mini_root, 'hqseg')
    assert _tool('--format', 'hqseg', '--src', src, '--dst', str(tmp_path / 'a'), '--method',
                 'ar', '--checkpoint', 'G.pth', '--no-progress') == 2
    assert 'uses no generator' in capsys.readouterr().err
    assert _tool('--format', 'hqseg', '--src', src, '--dst', str(tmp_path / 'b'),
                 '--no-progress') == 2
    assert 'needs a generator checkpoint' in capsys.readouterr().err
