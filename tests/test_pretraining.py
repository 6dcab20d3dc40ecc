"""The mini backbone's pretraining set and loop (unseg_mm/datasets/pretraining.py,
unseg_mm/engine/pretraining.py, tools/pretrain_mini_backbone.py)."""
import json
import os.path as osp

import numpy as np
import torch

from unseg_mm.datasets import synthetic
from unseg_mm.datasets.pretraining import family_outline, make_pretraining_set


def test_pretraining_images_are_deterministic_and_labelled_by_family():
    a_images, a_labels = make_pretraining_set(3, 2, size=32, seed=5)
    b_images, b_labels = make_pretraining_set(3, 2, size=32, seed=5)
    c_images, _ = make_pretraining_set(3, 2, size=32, seed=6)
    assert a_images.shape == (6, 32, 32, 3) and a_images.dtype == np.uint8
    assert np.array_equal(a_images, b_images) and a_labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert not np.array_equal(a_images, c_images)


def _turning(outline):
    """A rotation- and scale-free descriptor of an outline: its radial profile, sorted."""
    r = np.linalg.norm(outline - outline.mean(0), axis=1)
    return np.sort(np.interp(np.linspace(0, 1, 64), np.linspace(0, 1, len(r)), r / r.max()))


def test_families_differ_from_each_other_more_than_their_instances_do():
    rng = np.random.default_rng(0)
    within, between = [], []
    for family in range(6):
        a = _turning(family_outline(family, rng))
        b = _turning(family_outline(family, rng))
        c = _turning(family_outline(family + 6, rng))
        within.append(np.abs(a - b).mean())
        between.append(np.abs(a - c).mean())
    assert np.mean(within) < 0.6 * np.mean(between)


def test_family_outlines_are_not_the_benchmark_categories():
    # The benchmark's outlines are fixed constructions; a family draws its own from a far seed.
    rng = np.random.default_rng(1)
    families = [_turning(family_outline(f, rng)) for f in range(32)]
    for shape in synthetic.NATURAL_SHAPES:
        ref = _turning(synthetic._unit_outline(shape, np.random.default_rng(0)))
        assert min(np.abs(ref - f).mean() for f in families) > 0.01, shape


def test_pretraining_tool_writes_a_checkpoint_the_mini_config_loads(tmp_path, in_repo_root):
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from tools_entry import pretrain_tool
    out = str(tmp_path / 'ckpt' / 'backbone.pth')
    pretrain_tool.main(['--out', out, '--families', '3', '--per-family', '4',
                        '--val-per-family', '2', '--size', '32', '--iters', '3',
                        '--batch-size', '6'])
    report = json.load(open(osp.splitext(out)[0] + '.json'))
    assert report['history'][-1]['iter'] == 3 and report['num_classes'] == 3
    assert not osp.exists(out + '.partial')
    state = torch.load(out, weights_only=True)['state_dict']
    # The DeepLabV3 mini config's backbone (dilated strides) takes every tensor, none left out.
    import mmseg.models  # noqa: F401
    cfg = Config.fromfile('configs/mini/deeplabv3_r18_mini-voc.py')
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        backbone = MODELS.build(cfg.model.backbone)
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    assert not missing and not unexpected
    assert all(torch.equal(backbone.state_dict()[k], v.to(backbone.state_dict()[k].dtype))
               for k, v in state.items())


def test_pretraining_fits_its_images():
    # Memorising 24 images of 4 families is what a working loop (labels, optimiser, head) does
    # within a few dozen steps; a broken one stays at chance (0.25).
    from tools_entry import pretrain_tool
    from unseg_mm.engine.pretraining import pretrain_backbone
    train = make_pretraining_set(4, 6, size=32, seed=0)
    result = pretrain_backbone(pretrain_tool.BACKBONE, pretrain_tool.CHANNELS, train, train,
                               iters=80, batch_size=12, lr=0.05, eval_every=80, log=None)
    assert result['meta']['history'][-1]['val_accuracy'] >= 0.8
    assert result['meta']['chance'] == 0.25
