"""tools/train.py and tools/test.py: OpenMMLab-style CLIs for mmseg, mmdet and unseg_mm configs."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT, config_path
from unseg_mm.apis.runner import build_runner_cfg, infer_default_scope

VOC_CONFIG = config_path('mini', 'deeplabv3_r18_mini-voc.py')


def _run(tool, *args):
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', tool), *args]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _data_options(mini_root):
    voc = osp.join(mini_root, 'VOCdevkit', 'VOC2012')
    return [
        f'train_dataloader.dataset.datasets.0.data_root={voc}',
        f'train_dataloader.dataset.datasets.1.data_root={voc}',
        f'val_dataloader.dataset.data_root={voc}', f'test_dataloader.dataset.data_root={voc}',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0', 'train_dataloader.batch_size=2',
        'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1'
    ]


def test_train_resume_and_test(mini_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    opts = _data_options(mini_root)
    _run('train.py', VOC_CONFIG, '--work-dir', work_dir, '--cfg-options',
         'train_cfg.max_iters=2', 'train_cfg.val_interval=100', *opts)
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    # Auto-resume reads the checkpoint back with torch's weights-only loader (unseg_mm.compat).
    log = _run('train.py', VOC_CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options',
               'train_cfg.max_iters=3', 'train_cfg.val_interval=100', *opts)
    assert 'resumed epoch: 0, iter: 2' in log
    assert osp.isfile(osp.join(work_dir, 'iter_3.pth'))
    out = str(tmp_path / 'metrics.json')
    _run('test.py', VOC_CONFIG, osp.join(work_dir, 'iter_3.pth'), '--work-dir', work_dir,
         '--out', out, '--cfg-options', *opts)
    with open(out) as f:
        metrics = json.load(f)
    assert 0 <= metrics['mIoU'] <= 100


def test_resume_from_named_checkpoint_sets_load_from():
    cfg = build_runner_cfg(VOC_CONFIG, resume='some/iter_4.pth')
    assert cfg.resume is True and cfg.load_from == 'some/iter_4.pth'
    cfg = build_runner_cfg(VOC_CONFIG, resume='auto')
    assert cfg.resume is True and cfg.load_from is None


def test_amp_switches_the_optimizer_wrapper():
    cfg = build_runner_cfg(VOC_CONFIG, amp=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_default_work_dir_is_named_after_the_config():
    cfg = build_runner_cfg(VOC_CONFIG)
    assert cfg.work_dir == osp.join('./work_dirs', 'deeplabv3_r18_mini-voc')


@pytest.mark.parametrize('model_type,scope', [('EncoderDecoder', 'mmseg'), ('DINO', 'mmdet')])
def test_scope_is_inferred_from_the_model_when_the_config_has_none(model_type, scope):
    cfg = Config(dict(model=dict(type=model_type)))
    assert infer_default_scope(cfg) == scope


def test_unknown_model_without_scope_is_a_clear_error():
    cfg = Config(dict(model=dict(type='NoSuchModel')))
    with pytest.raises(ValueError, match='default_scope'):
        infer_default_scope(cfg)


def test_missing_config_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        build_runner_cfg('no_such_config.py')


def test_custom_imports_registers_unseg_mm_under_both_scopes(tmp_path):
    """A config importing unseg_mm finds its modules from mmseg's and from mmdet's scope."""
    from mmengine.registry import DefaultScope
    from mmdet.registry import DATASETS as DET_DATASETS
    from mmseg.registry import DATASETS as SEG_DATASETS
    dataset = dict(type='HQSegDataset', data_root=osp.join(REPO_ROOT, 'tests'),
                   subsets=[], lazy_init=True)
    for scope, registry in (('mmseg', SEG_DATASETS), ('mmdet', DET_DATASETS)):
        path = tmp_path / f'{scope}.py'
        path.write_text(f"custom_imports = dict(imports=['unseg_mm'], allow_failed_imports=False)\n"
                        f"default_scope = '{scope}'\n")
        cfg = Config.fromfile(str(path))
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            built = registry.build(dataset)
        assert type(built).__name__ == 'HQSegDataset'
