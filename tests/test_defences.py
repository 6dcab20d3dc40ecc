"""Defences: image squeezing transforms and PGD adversarial training."""
import copy
import math
import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from conftest import REPO_ROOT, config_path
from helpers import quick_cfg
from unseg_mm.apis.config_utils import with_adversarial_training, with_defence
from unseg_mm.engine.adversarial import frozen_norm_statistics
from unseg_mm.datasets.defences import (BitDepthReduction, GaussianFilter, GrayscaleDefence,
                                        JPEGCompression, MedianFilter)


@pytest.fixture(autouse=True)
def _tools_on_path(monkeypatch):
    import os.path as osp
    monkeypatch.syspath_prepend(osp.join(REPO_ROOT, 'tests'))


def _results(img):
    return dict(img=img.copy(), img_path='x.png', gt_seg_map=np.zeros(img.shape[:2], np.uint8))


def _textured(seed=0, shape=(64, 80)):
    rng = np.random.default_rng(seed)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, shape + (3, )).astype(np.float32), (9, 9), 3)
    return np.clip(smooth + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)


def test_jpeg_changes_pixels_more_at_lower_quality_and_keeps_labels():
    img = _textured()
    errors = {}
    for quality in (10, 50, 90):
        out = JPEGCompression(quality)(_results(img))
        assert out['img'].shape == img.shape and out['img'].dtype == np.uint8
        assert not out['gt_seg_map'].any()
        errors[quality] = np.abs(out['img'].astype(int) - img).mean()
        ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert np.array_equal(out['img'], cv2.imdecode(buf, cv2.IMREAD_COLOR))
    assert errors[10] > errors[50] > errors[90] > 0
    with pytest.raises(ValueError, match='quality'):
        JPEGCompression(0)


def test_grayscale_is_the_luma_in_every_channel():
    img = _textured(1)
    out = GrayscaleDefence()(_results(img))['img']
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    b, g, r = (img[..., c].astype(float) for c in range(3))
    assert np.abs(out[..., 0] - (0.299 * r + 0.587 * g + 0.114 * b)).max() <= 1
    rgb = GrayscaleDefence(channel_order='rgb')(_results(img[..., ::-1].copy()))['img']
    assert np.array_equal(rgb, out)


@pytest.mark.parametrize('bits', [1, 2, 3, 8])
def test_bit_depth_reduction_keeps_the_top_bits(bits):
    img = _textured(2)
    out = BitDepthReduction(bits)(_results(img))['img']
    step = 2 ** (8 - bits)
    assert (out % step == 0).all()
    assert ((img.astype(int) - out >= 0) & (img.astype(int) - out < step)).all()


def test_median_filter_removes_impulses_and_keeps_flat_regions():
    img = np.full((32, 32, 3), 100, np.uint8)
    img[10, 10] = 255
    img[20, 5] = 0
    out = MedianFilter(3)(_results(img))['img']
    assert (out == 100).all()
    with pytest.raises(ValueError, match='odd'):
        MedianFilter(4)


def test_gaussian_filter_smooths_noise_and_keeps_flat_regions():
    flat = np.full((32, 32, 3), 77, np.uint8)
    assert np.array_equal(GaussianFilter()(_results(flat))['img'], flat)
    noisy = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    out = GaussianFilter(kernel=5, sigma=1.0)(_results(noisy))['img']
    assert out.astype(float).std() < 0.5 * noisy.astype(float).std()
    ref = cv2.GaussianBlur(noisy, (5, 5), 1.0, borderType=cv2.BORDER_REFLECT_101)
    assert np.array_equal(out, ref)


def test_defences_refuse_normalised_images():
    with pytest.raises(ValueError, match='before any normalisation'):
        JPEGCompression()(dict(img=np.zeros((4, 4, 3), np.float32), img_path='f.png'))


def test_defences_are_found_from_both_scopes():
    from mmdet.registry import TRANSFORMS as DET
    from mmseg.registry import TRANSFORMS as SEG
    for scope, registry in (('mmseg', SEG), ('mmdet', DET)):
        with DefaultScope.overwrite_default_scope(scope):
            for name in ('JPEGCompression', 'GrayscaleDefence', 'BitDepthReduction',
                         'MedianFilter', 'GaussianFilter'):
                assert registry.build(dict(type=name)).__class__.__name__ == name


def test_with_defence_goes_after_the_protection_or_the_loading():
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='UnSegProtect', method='ar'), dict(type='RandomFlip')]
    dataset = dict(type='ConcatDataset', datasets=[dict(pipeline=pipeline),
                                                   dict(pipeline=pipeline[:2] + pipeline[3:])])
    out = with_defence(dataset, dict(type='JPEGCompression', quality=30))
    types = [[t['type'] for t in d['pipeline']] for d in out['datasets']]
    assert types[0] == ['LoadImageFromFile', 'LoadAnnotations', 'UnSegProtect', 'JPEGCompression',
                        'RandomFlip']
    assert types[1] == ['LoadImageFromFile', 'LoadAnnotations', 'JPEGCompression', 'RandomFlip']
    assert len(dataset['datasets'][0]['pipeline']) == 4  # the input config is not modified


# ------------------------------------------------------------------------------------------------
# PGD adversarial training

def _wrapped_runner(config, mini_root, tmp_path, **pgd):
    cfg = quick_cfg(config_path('mini', config), mini_root, str(tmp_path), train_images=4)
    cfg.model = with_adversarial_training(cfg.model, **pgd)
    cfg.model.pop('_delete_')
    runner = Runner.from_cfg(cfg)
    # The runner initialises weights only when it trains; without this DINO's level embedding
    # keeps whatever the allocator left in it (NaN now and then, depending on what ran before).
    runner.model.init_weights()
    return runner


def _batch(runner):
    data = next(iter(runner.train_dataloader))
    return runner.model.data_preprocessor(data, True)


def _loss_terms(model, batch, samples, with_gradient=False):
    """The model's loss terms (lists summed) as floats or, ``with_gradient``, the L1 norm of each
    term's gradient with respect to ``batch``."""
    if with_gradient:
        batch = batch.clone().requires_grad_(True)
    terms = {}
    for name, value in model(batch, copy.deepcopy(samples), mode='loss').items():
        if 'loss' not in name:
            continue
        value = sum(value) if isinstance(value, list) else value
        if with_gradient:
            grad, = torch.autograd.grad(value, batch, retain_graph=True, allow_unused=True)
            terms[name] = 0.0 if grad is None else float(grad.abs().sum())
        else:
            terms[name] = float(value)
    return terms


@pytest.mark.parametrize('config', ['deeplabv3_r18_mini-voc.py', 'dino_r18_mini-coco.py'])
def test_pgd_increases_the_loss_within_the_budget(config, mini_root, tmp_path, in_repo_root):
    torch.manual_seed(0)
    runner = _wrapped_runner(config, mini_root, tmp_path, eps=8 / 255, steps=3,
                             random_start=False)
    wrapper = runner.model
    data = _batch(runner)
    inputs, samples = data['inputs'], data['data_samples']
    wrapper.train()
    bn_before = {k: v.clone() for k, v in wrapper.model.state_dict().items() if 'running' in k}
    adversarial = wrapper.perturb(inputs, samples)
    bn_after = {k: v for k, v in wrapper.model.state_dict().items() if 'running' in k}
    assert all(torch.equal(bn_before[k], bn_after[k]) for k in bn_before)

    pre = wrapper.model.data_preprocessor
    pixels = inputs * pre.std + pre.mean
    adv_pixels = adversarial * pre.std + pre.mean
    change = (adv_pixels - pixels).abs()
    assert change.max() <= 8 + 1e-3 and change.max() > 1
    assert adv_pixels.min() >= -1e-3 and adv_pixels.max() <= 255 + 1e-3
    # The attack's own setting (training mode, frozen statistics), with the same random draws
    # (dropout, DINO's denoising queries) for every evaluation.
    # A gradient attack sees only the loss terms that have a gradient at the input. The others are
    # piecewise constant in the pixels: in DINO at initialisation the boxes are the encoder's
    # top-k anchor proposals (its regression layers start at zero), so the box and IoU losses
    # have no gradient and jump whenever the top-k selection flips (0.001 grey levels move the
    # total loss by 0.4 there). The check is on the terms the attack can see; DeepLabV3 has no
    # others.
    with frozen_norm_statistics(wrapper.model):
        torch.manual_seed(1)
        gradients = _loss_terms(wrapper.model, inputs, samples, with_gradient=True)
    visible = [name for name, norm in gradients.items() if norm > 0]
    assert any('cls' in name or 'loss_ce' in name for name in visible), gradients
    if 'deeplabv3' in config:
        assert visible == list(gradients), gradients
    # Random sign perturbations of the same size are the control: the attack must move the loss
    # up by more than any of them does, and by clearly more than they do on average.
    draws = torch.Generator().manual_seed(2)
    controls = [inputs + torch.sign(torch.randn(inputs.shape, generator=draws)) * 8 / pre.std
                for _ in range(6)]
    losses = []
    with torch.no_grad(), frozen_norm_statistics(wrapper.model):
        for batch in [inputs, adversarial] + controls:
            torch.manual_seed(1)
            terms = _loss_terms(wrapper.model, batch, samples)
            losses.append(sum(terms[name] for name in visible))
    clean, attacked = losses[:2]
    chance = [loss - clean for loss in losses[2:]]
    assert attacked - clean > max(chance), (clean, attacked, chance)
    assert attacked - clean > 2 * sum(abs(c) for c in chance) / len(chance), \
        (clean, attacked, chance)


def test_pgd_leaves_pixels_with_an_undefined_gradient_in_place(mini_root, tmp_path, in_repo_root):
    runner = _wrapped_runner('deeplabv3_r18_mini-voc.py', mini_root, tmp_path, eps=8 / 255,
                             steps=2, random_start=False)
    wrapper = runner.model
    inputs = _batch(runner)['inputs']
    weights = torch.randn_like(inputs)

    def loss(batch, samples):
        # d/dx sqrt(x - x) is 0 * inf = NaN at the first pixel of every image and channel.
        corner = batch[..., :1, :1]
        return (batch * weights).sum() + torch.sqrt(corner - corner).sum()

    wrapper._loss = loss
    adversarial = wrapper.perturb(inputs, None)
    assert torch.isfinite(adversarial).all()
    pre = wrapper.model.data_preprocessor
    change = (adversarial - inputs) * pre.std
    assert torch.allclose(change[..., 0, 0], torch.zeros_like(change[..., 0, 0]), atol=1e-4)
    assert change[..., 1:, 1:].abs().max() > 1


def test_pgd_wrapper_trains_and_tests_from_a_config(mini_root, tmp_path, in_repo_root):
    cfg = quick_cfg(config_path('mini', 'deeplabv3_r18_unseg_pgd-at4_mini-voc.py'), mini_root,
                    str(tmp_path), train_images=4)
    assert cfg.model.type == 'PGDAdversarialTraining' and cfg.model.steps == 5
    cfg.model.steps = 2
    runner = Runner.from_cfg(cfg)
    calls = []
    original = runner.model.perturb
    runner.model.perturb = lambda *a: calls.append(1) or original(*a)
    runner.train()
    assert len(calls) == 2  # one attack per training step
    losses = [v.current() for k, v in runner.message_hub.log_scalars.items()
              if k.startswith('train/') and 'loss' in k]
    assert losses and all(math.isfinite(v) for v in losses)
    assert 'mIoU' in runner.test()


def test_sat_attacks_only_part_of_the_batch(mini_root, tmp_path, in_repo_root):
    runner = _wrapped_runner('deeplabv3_r18_mini-voc.py', mini_root, tmp_path, eps=8 / 255,
                             steps=1, adversarial_fraction=0.5)
    data = _batch(runner)
    seen = []
    runner.model.perturb = lambda inputs, samples: seen.append(inputs.shape[0]) or inputs
    runner.model.train()
    runner.model(data['inputs'], data['data_samples'], mode='loss')
    assert seen == [math.ceil(0.5 * data['inputs'].shape[0])]
    from unseg_mm.engine import PGDAdversarialTraining
    with pytest.raises(ValueError, match='adversarial_fraction'):
        PGDAdversarialTraining(model=runner.model.model, adversarial_fraction=0)


def test_benchmark_writes_the_defended_copy_of_a_protected_one(mini_root, tmp_path, capsys):
    """benchmarks/defended_copy.py (the publishing tool has no --defence: a data owner never
    publishes a defended copy)."""
    import json
    import os.path as osp
    import sys

    import mmcv
    from conftest import REPO_ROOT
    from tools_entry import protect_main

    from unseg_mm.apis.dataset_formats import format_spec
    from unseg_mm.apis.protect_dataset import build_samples
    sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
    from defended_copy import RECORD
    from defended_copy import main as defend_main
    src = osp.join(mini_root, 'hqseg')
    plain, defended = str(tmp_path / 'plain'), str(tmp_path / 'defended')
    common = ['--format', 'hqseg', '--src', src, '--method', 'synper', '--no-progress']
    assert protect_main(common + ['--dst', plain]) == 0
    with pytest.raises(SystemExit):  # the publishing tool refuses the benchmark-only option
        protect_main(common + ['--dst', str(tmp_path / 'x'), '--defence', 'JPEGCompression'])
    args = ['--src', plain, '--dst', defended, '--defence', 'JPEGCompression',
            '--defence-options', 'quality=30']
    assert defend_main(args) == 0
    jpeg = JPEGCompression(30)
    manifest = json.load(open(osp.join(plain, 'unseg_manifest.json')))
    record = json.load(open(osp.join(defended, RECORD)))
    assert [e['path'] for e in record['images']] == [e['path'] for e in manifest['images']]
    for info in build_samples(format_spec('hqseg', src), src)[:4]:
        rel = osp.relpath(info['img_path'], src)
        expected = jpeg(dict(img=mmcv.imread(osp.join(plain, rel)), img_path=rel))['img']
        assert np.array_equal(mmcv.imread(osp.join(defended, rel)), expected)
    assert any(e['max_change'] > 0 for e in record['images'])
    # non-training files are copied, the protection's own records are not
    gt = osp.join('DIS5K', 'DIS-TR', 'gt', sorted(os.listdir(osp.join(src, 'DIS5K/DIS-TR/gt')))[0])
    assert open(osp.join(defended, gt), 'rb').read() == open(osp.join(src, gt), 'rb').read()
    assert not osp.exists(osp.join(defended, 'unseg_manifest.json'))
    # a re-run resumes (nothing rewritten); another defence on the same --dst is refused
    before = {e['path']: os.stat(osp.join(defended, e['path'])).st_mtime_ns
              for e in record['images']}
    assert defend_main(args) == 0
    assert before == {p: os.stat(osp.join(defended, p)).st_mtime_ns for p in before}
    assert defend_main(args[:5] + ['GrayscaleDefence']) == 2
    assert 'another defended copy' in capsys.readouterr().err
    assert defend_main(['--src', plain, '--dst', str(tmp_path / 'y'), '--defence',
                        'LoadImageFromFile']) == 2
    assert 'not an image defence' in capsys.readouterr().err
    assert defend_main(['--src', src, '--dst', str(tmp_path / 'z'), '--defence',
                        'GrayscaleDefence']) == 2
    assert 'tools/protect_dataset.py' in capsys.readouterr().err
