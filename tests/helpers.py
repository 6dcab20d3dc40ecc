"""Test-only helpers for turning a mini config into a seconds-long run."""
from mmengine.config import Config

from unseg_mm.apis.config_utils import iter_datasets, rebase_paths
from unseg_mm.apis.runner import build_runner_cfg


def quick_cfg(config: str, mini_root: str, work_dir: str, train_images: int = 8,
              val_images: int = 2, iters: int = 2) -> Config:
    """The config's own pipeline and model on ``mini_root``, for ``iters`` steps / 1 epoch."""
    cfg = build_runner_cfg(config, work_dir=work_dir)
    rebase_paths(cfg, 'data/mini', mini_root)
    if 'max_epochs' in cfg.train_cfg:
        cfg.train_cfg.max_epochs = 1
        cfg.train_cfg.val_interval = 1
    else:
        cfg.train_cfg.max_iters = iters
        cfg.train_cfg.val_interval = iters
    cfg.train_dataloader.batch_size = 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    for dataset in iter_datasets(cfg.train_dataloader.dataset):
        dataset['indices'] = train_images
    for loader in ('val_dataloader', 'test_dataloader'):
        for dataset in iter_datasets(cfg[loader].dataset):
            dataset['indices'] = val_images
    cfg.default_hooks.logger.interval = 1
    return cfg
