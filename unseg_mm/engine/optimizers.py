"""One optimizer per named sub-model, for models whose train_step drives an OptimWrapperDict."""
import copy
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PerModuleOptimWrapperConstructor:
    """Build ``OptimWrapperDict(name=wrapper)`` with each wrapper over ``model.<name>``'s parameters.

    As mmagic's multi-optimizer constructor for GANs: ``optim_wrapper = dict(
    constructor='PerModuleOptimWrapperConstructor', generator=dict(optimizer=...),
    surrogate=dict(optimizer=...))``. Each entry is a regular optim-wrapper config (it may hold its
    own ``paramwise_cfg``). Frozen parameters (``requires_grad=False``) never get a gradient, so
    the optimizer never changes them.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('give paramwise_cfg inside each sub-model entry of optim_wrapper')
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            if not hasattr(model, name):
                raise KeyError(f'optim_wrapper has an entry {name!r} but the model has no such '
                               f'sub-module')
            cfg = copy.deepcopy(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(getattr(model, name))
        return OptimWrapperDict(**wrappers)

