"""Shared fixtures: mini datasets written once per session into a temporary folder."""
import os
import os.path as osp

import pytest

import unseg_mm  # noqa: F401  (compat shims + registrations, as every entry point does)
from unseg_mm.datasets.mini import make_mini_datasets

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Small but complete: every format, both splits.
MINI_NUM_TRAIN = 12
MINI_NUM_VAL = 4


@pytest.fixture(scope='session')
def mini_root(tmp_path_factory):
    """Root folder holding every mini dataset format (the layout of ``data/mini``)."""
    root = str(tmp_path_factory.mktemp('mini'))
    make_mini_datasets(root, num_train=MINI_NUM_TRAIN, num_val=MINI_NUM_VAL, show_progress=False)
    return root


@pytest.fixture(scope='session')
def tiny_sam_file(tmp_path_factory):
    """A SAM-layout checkpoint of the tiny architecture (random weights, written by the test)."""
    import torch
    from unseg_mm.models import SAMSurrogate
    from unseg_mm.apis.checkpoint import sam_state_dict_from
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('sam') / 'sam_tiny.pth'
    torch.save(sam_state_dict_from(SAMSurrogate(arch='tiny')), path)
    return str(path)


@pytest.fixture(scope='session')
def tiny_generator_file(tiny_sam_file, tmp_path_factory):
    """A tiny generator file (random noise decoder over the random tiny SAM)."""
    import torch
    from unseg_mm.apis.checkpoint import save_generator
    from unseg_mm.models import UnSegGenerator
    torch.manual_seed(1)
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file)
    path = str(tmp_path_factory.mktemp('generator') / 'generator_tiny.pth')
    save_generator(generator, path)
    return path


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """A Runner registers a process-wide default scope (mmseg or mmdet) that outlives it; restore
    the table after every test so a later test's registry lookups do not depend on test order."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


@pytest.fixture
def in_repo_root(monkeypatch):
    """Run from the repository root (configs use paths relative to it)."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


def config_path(*parts: str) -> str:
    return osp.join(REPO_ROOT, 'configs', *parts)


os.environ.setdefault('OMP_NUM_THREADS', '2')
