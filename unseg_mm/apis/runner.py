"""Config preparation shared by ``tools/train.py`` and ``tools/test.py``.

The same entry points serve mmseg configs (``default_scope='mmseg'``), mmdet configs
(``default_scope='mmdet'``) and unseg_mm's own configs, so the scope is read from the config, or
inferred from which library registers the config's model type when a config does not set one.
"""
import argparse
import logging
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import unseg_mm  # noqa: F401  (registers unseg_mm modules and applies compat work-arounds)

SCOPES = ('mmseg', 'mmdet')


def add_runner_args(parser: argparse.ArgumentParser, cfg_options_example: str) -> None:
    """The options ``tools/train.py`` and ``tools/test.py`` share: ``--cfg-options``,
    ``--launcher`` and the rank the launcher passes."""
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help=f'override config settings, key=value pairs, e.g. {cfg_options_example}')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torch >= 2.0's launcher passes --local-rank; older ones --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse, and export the local rank for distributed launchers that only pass it as an
    option."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def infer_default_scope(cfg: Config) -> str:
    """Return the config's ``default_scope``, or the library whose MODELS registry knows its model.

    Raises:
        ValueError: the config sets no scope and its model type is unknown to mmseg and mmdet.
    """
    if cfg.get('default_scope'):
        return cfg.default_scope
    model_type = cfg.get('model', {}).get('type')
    from mmdet.registry import MODELS as DET_MODELS
    from mmdet.utils import register_all_modules as register_det
    from mmseg.registry import MODELS as SEG_MODELS
    from mmseg.utils import register_all_modules as register_seg
    register_seg(init_default_scope=False)
    register_det(init_default_scope=False)
    for scope, registry in (('mmseg', SEG_MODELS), ('mmdet', DET_MODELS)):
        if model_type in registry.module_dict:
            return scope
    raise ValueError(
        f'config {cfg.filename!r} sets no default_scope and its model type {model_type!r} is '
        f'registered by neither mmseg nor mmdet; add default_scope = "mmseg" or "mmdet" to it')


def build_runner_cfg(config: str,
                     work_dir: Optional[str] = None,
                     cfg_options: Optional[dict] = None,
                     launcher: str = 'none',
                     amp: bool = False,
                     resume: Optional[str] = None,
                     auto_scale_lr: bool = False,
                     checkpoint: Optional[str] = None) -> Config:
    """Load ``config`` and apply the command-line settings the way mmseg/mmdet tools do.

    Args:
        config: path of the config file (it may inherit ``mmseg::``/``mmdet::`` bases).
        work_dir: output folder; default ``./work_dirs/<config stem>``.
        cfg_options: ``--cfg-options`` overrides, merged after loading.
        launcher: ``none``, ``pytorch``, ``slurm`` or ``mpi``.
        amp: switch the optimizer wrapper to ``AmpOptimWrapper`` (needs a GPU).
        resume: ``'auto'`` to resume from the work dir's latest checkpoint, or a checkpoint path.
        auto_scale_lr: enable the config's ``auto_scale_lr``.
        checkpoint: weights to evaluate (``tools/test.py``), set as ``load_from``.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.default_scope = infer_default_scope(cfg)

    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])

    if amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in the config', logger='current',
                      level=logging.WARNING)
        else:
            if optim_wrapper != 'OptimWrapper':
                raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, got {optim_wrapper!r}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume

    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True

    if checkpoint is not None:
        cfg.load_from = checkpoint
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the Runner named by ``cfg.runner_type``, or mmengine's default one."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_training(cfg: Config) -> Runner:
    """Build a Runner from ``cfg`` and train; returns the runner (its model holds the result)."""
    runner = build_runner(cfg)
    runner.train()
    return runner


def run_testing(cfg: Config) -> dict:
    """Build a Runner from ``cfg`` and evaluate ``cfg.load_from`` on the test split."""
    if not cfg.get('load_from'):
        raise ValueError('testing needs a checkpoint (load_from)')
    runner = build_runner(cfg)
    return runner.test()
