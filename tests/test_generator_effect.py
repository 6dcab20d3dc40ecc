"""The bundled generator makes data unlearnable for a fresh target model, at the tool's default
budget (8/255 on every pixel), in a few CPU minutes (~4.5 min on 2 cores).

The stock mini DeepLabV3 config trains twice from the same seed on the mini VOC training set:
once on the clean images, once on the copy the offline tool publishes with the bundled generator
(`tools/protect_dataset.py`, defaults). Both are evaluated on the clean validation images. The
error-minimising signature (a lower training loss: the noise is a shortcut) and the unlearnability
(a markedly lower clean-val mIoU) must both show. Measured on 2 cores at 200 iterations: clean
36.1 mIoU, protected 16.3 (logged training loss at iterations 180 / 200: 0.83 / 0.77 clean,
0.70 / 0.67 protected). The full measurement (1,200 iterations, 3 seeds, controls,
baselines) is the mini suite's `unseg` row (`python benchmarks/run.py --suite mini --study
generators`).
"""
import os.path as osp

from mmengine.runner import Runner

from conftest import REPO_ROOT
from tools_entry import protect_main
from unseg_mm.apis.checkpoint import BUNDLED_GENERATOR
from unseg_mm.apis.config_utils import rebase_paths, set_schedule
from unseg_mm.apis.runner import build_runner_cfg
from unseg_mm.datasets.mini import make_mini_datasets

CONFIG = osp.join(REPO_ROOT, 'configs', 'mini', 'deeplabv3_r18_mini-voc.py')
ITERS = 200
WINDOW = 25  # training iterations averaged for the final loss


def train_and_evaluate(data_root: str, work_dir: str) -> dict:
    """The stock mini config on ``data_root`` (a copy of data/mini) for ITERS iterations."""
    cfg = build_runner_cfg(CONFIG, work_dir=work_dir)
    rebase_paths(cfg, 'data/mini', data_root)
    set_schedule(cfg, ITERS)  # validates once, at the end
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    losses = [float(v) for v in hub.get_scalar('train/loss').data[0]]
    assert len(losses) == ITERS
    return dict(loss=sum(losses[-WINDOW:]) / WINDOW,
                miou=float(hub.get_scalar('val/mIoU').current()))


def test_bundled_generator_at_the_default_budget_is_a_shortcut_a_fresh_target_learns(
        tmp_path, in_repo_root):
    clean_root = str(tmp_path / 'clean')
    make_mini_datasets(clean_root, ['voc'], show_progress=False)
    voc = osp.join('VOCdevkit', 'VOC2012')
    # The protected copy in the same layout: published VOC2012 (training images protected,
    # validation images copied clean) under its own root.
    protected_root = str(tmp_path / 'protected')
    protect_main(['--format', 'voc', '--src', osp.join(clean_root, voc),
                  '--dst', osp.join(protected_root, voc),
                  '--checkpoint', osp.join(REPO_ROOT, BUNDLED_GENERATOR), '--no-progress'])
    clean = train_and_evaluate(clean_root, str(tmp_path / 'work_clean'))
    protected = train_and_evaluate(protected_root, str(tmp_path / 'work_unseg'))
    assert clean['miou'] > 25, f'the clean run did not learn: {clean}'  # the task is learnable
    # Fitted as a shortcut: training on the protected copy ends at a clearly lower loss ...
    assert protected['loss'] < clean['loss'] - 0.05, (clean, protected)
    # ... and what was learned does not carry over to clean images.
    assert protected['miou'] < 0.7 * clean['miou'], (clean, protected)
