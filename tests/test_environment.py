"""The installed stack is the pinned, working combination (issue: foundation)."""
import importlib
import importlib.metadata as metadata
import os.path as osp
import re

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT

MODULES = ['unseg_mm', 'mmseg', 'mmdet', 'mmcv.ops', 'segment_anything', 'torchvision',
           'pycocotools', 'cityscapesscripts', 'mmengine']


@pytest.mark.parametrize('module', MODULES)
def test_imports(module):
    importlib.import_module(module)


def _pins():
    pins = {}
    with open(osp.join(REPO_ROOT, 'requirements', 'constraints.txt')) as f:
        for line in f:
            m = re.match(r'^([A-Za-z0-9_.-]+)==([^\s#]+)', line.strip())
            if m:
                pins[m.group(1)] = m.group(2)
    return pins


@pytest.mark.parametrize('dist,version', sorted(_pins().items()))
def test_installed_versions_match_constraints(dist, version):
    installed = metadata.version(dist)
    assert installed.split('+')[0] == version, f'{dist} {installed} installed, {version} pinned'


def test_mmcv_ops_are_compiled_and_run_on_cpu():
    from mmcv.ops import nms
    from mmcv.utils import ext_loader
    ext_loader.load_ext('_ext', ['nms', 'ms_deform_attn_forward'])
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_torchvision_ops_work_with_this_torch():
    # A torchvision built against another torch fails here with "torchvision::nms does not exist".
    import torchvision
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10]], dtype=torch.float32)
    assert torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0]


def test_numpy_is_1x():
    assert np.__version__.startswith('1.')
