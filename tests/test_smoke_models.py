"""Stock OpenMMLab models, from the stock configs shipped in mmseg/mmdet, train and test on CPU.

Each mini config is the stock config plus size overrides; here it runs two real training steps
and a validation/test pass with the stock pipelines and metrics on the mini datasets.
"""
import math
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import REPO_ROOT, config_path
from helpers import quick_cfg

CASES = {
    'deeplabv3_r18_mini-voc.py': 'mIoU',
    'mask2former_r18_mini-ade20k.py': 'mIoU',
    'mask2former_r18_mini-coco.py': 'coco/segm_mAP',
    'mask2former_r18_mini-coco-panoptic.py': 'coco_panoptic/PQ',
    'dino_r18_mini-coco.py': 'coco/bbox_mAP',
    # the same stock pipelines with the bundled generator protecting the training images online
    'mask2former_r18_unseg_mini-coco-panoptic.py': 'coco_panoptic/PQ',
    'deeplabv3_r18_unseg_mini-voc.py': 'mIoU',
    # a baseline swapped in by the transform's `method` key; a defence after the protection
    'deeplabv3_r18_ar_mini-voc.py': 'mIoU',
    'deeplabv3_r18_unseg_jpeg10_mini-voc.py': 'mIoU',
}


@pytest.mark.parametrize('config', sorted(CASES))
def test_train_and_test_steps(config, mini_root, tmp_path, in_repo_root):
    cfg = quick_cfg(config_path('mini', config), mini_root, str(tmp_path), train_images=4)
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = {k: v for k, v in runner.message_hub.log_scalars.items()
              if k.startswith('train/') and 'loss' in k}
    assert losses, 'no training loss was logged'
    assert all(math.isfinite(buf.current()) for buf in losses.values())
    metrics = runner.test()
    assert CASES[config] in metrics


@pytest.mark.parametrize('config', sorted(CASES))
def test_backbones_start_from_the_mini_pretraining_and_learn_at_the_full_rate(config):
    """The stock optimisers slow an ImageNet-initialised backbone down (lr_mult 0.1); the mini
    backbones learn at the full rate. Every mini model starts from the bundled mini pretraining
    through the stock ``init_cfg`` (from scratch, Mask2Former did not fit the calibration's
    grating on ADE20K, nor DINO on COCO), and the checkpoint fills the backbone the config
    builds, every tensor of it."""
    import torch
    cfg = Config.fromfile(config_path('mini', config))
    assert cfg.model.get('pretrained') is None
    init = cfg.model.backbone.get('init_cfg')
    assert init['type'] == 'Pretrained'
    checkpoint = osp.join(REPO_ROOT, init['checkpoint'])
    assert osp.isfile(checkpoint), init['checkpoint']
    # the backbone as the config's own scope (its stock base's default_scope) builds it
    import importlib
    importlib.import_module(f'{cfg.default_scope}.models')
    models = importlib.import_module(f'{cfg.default_scope}.registry').MODELS
    backbone = models.build(dict(cfg.model.backbone, init_cfg=None))
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    custom = cfg.optim_wrapper.get('paramwise_cfg', {}).get('custom_keys', {})
    assert custom.get('backbone', {}).get('lr_mult', 1.0) == 1.0
