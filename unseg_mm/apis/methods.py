"""Protection methods by name: ``unseg``, the class-wise baselines ``synper``, ``ar``, ``cuda``,
and the two calibration controls for benchmarks: ``grating``, a class-wise shortcut that must
work (:class:`~.baselines.Grating`), and ``uniform``, i.i.d. noise of the budget
(:class:`~.baselines.Uniform`): label-free, so it must do nothing, when one budget covers every
pixel; at the region budgets, what the object/background budget split alone gives away. The
controls are not attacks: they measure what a dataset and training pipeline let any additive
pattern of the budget do.

One interface for the offline tool, the ``UnSegProtect`` transform and the benchmarks::

    method = build_method('ar', ProtectConfig(eps_object=8 / 255), options=dict(eps2=1.0))
    results = method(images, prompts, keys)          # List[ProtectResult]

Every method reads the budgets (``eps_object``, ``eps_background``) and ``seed`` of
:class:`~unseg_mm.apis.protect.ProtectConfig`; ``options`` are the method's own
hyper-parameters (the constructor arguments of its class). New methods register a class with a
``from_config(cfg, checkpoint=None, sam_checkpoint=None, **options)`` constructor.
"""
import os
from typing import List, Optional, Sequence

import numpy as np
from mmengine.registry import Registry

from . import baselines
from .checkpoint import BUNDLED_GENERATOR
from .protect import ImagePrompts, ProtectConfig, ProtectResult, check_inputs, protect

PROTECTION_METHODS = Registry('protection method')


@PROTECTION_METHODS.register_module(name='unseg')
class UnSegMethod:
    """The UnSeg generator (one forward pass per image, or per object with ``per_object``).

    The generator is loaded lazily, once per process, so the method can be pickled into
    dataloader workers without a model inside.
    """
    needs_checkpoint = True
    linf_bounded = True
    prompted = True  # reads the object prompts (the format's default background classes apply)

    def __init__(self, cfg: ProtectConfig, checkpoint: Optional[str] = None,
                 sam_checkpoint: Optional[str] = None, generator=None) -> None:
        if checkpoint is None and generator is None:
            raise ValueError("method 'unseg' needs a generator checkpoint (e.g. the bundled "
                             f"{BUNDLED_GENERATOR})")
        self.cfg = cfg
        self.checkpoint = checkpoint
        self.sam_checkpoint = sam_checkpoint
        self._generator = generator
        self._pid = os.getpid() if generator is not None else None

    @classmethod
    def from_config(cls, cfg: ProtectConfig, checkpoint: Optional[str] = None,
                    sam_checkpoint: Optional[str] = None, **options) -> 'UnSegMethod':
        if options:
            raise ValueError(f"method 'unseg' takes no options (got {sorted(options)}); its "
                             f"settings are ProtectConfig's (eps, prompt type, ...)")
        return cls(cfg, checkpoint, sam_checkpoint)

    def __getstate__(self):
        state = dict(self.__dict__)
        if self.checkpoint is not None:  # workers load their own generator
            state['_generator'] = None
            state['_pid'] = None
        return state

    @property
    def generator(self):
        if self._generator is None or (self._pid != os.getpid() and self.checkpoint):
            from .checkpoint import load_generator
            self._generator = load_generator(self.checkpoint, self.sam_checkpoint,
                                             device=self.cfg.device)
            self._pid = os.getpid()
        return self._generator

    def __call__(self, images: Sequence[np.ndarray], prompts: Sequence[ImagePrompts],
                 keys: Sequence[str], channel_order: str = 'bgr') -> List[ProtectResult]:
        return protect(images, prompts, self.generator, self.cfg, keys, channel_order)

    def describe(self) -> dict:
        return dict(method='unseg', checkpoint=self.checkpoint)


class _BaselineMethod:
    """A class-wise baseline of :mod:`unseg_mm.apis.baselines` behind the common interface."""
    needs_checkpoint = False
    linf_bounded = True
    prompted = False  # class-wise: every labelled class alike, stuff included
    name = ''
    impl = None

    def __init__(self, cfg: ProtectConfig, **options) -> None:
        if cfg.class_keyed:
            raise ValueError(f"class_keyed varies the generator's pattern by class; method "
                             f"{self.name!r} is class-wise already (use it without class_keyed)")
        if cfg.pattern_upsample != 'bilinear' or cfg.pattern_window is not None:
            raise ValueError(f"pattern_upsample and pattern_window are how the generator's "
                             f"pattern is made; method {self.name!r} draws its own at the image "
                             f"size")
        self.cfg = cfg
        self.options = options
        try:
            self.baseline = self.impl(seed=cfg.seed, **self._budgets(cfg), **options)
        except TypeError as exc:
            raise ValueError(f'bad options for method {self.name!r}: {exc}') from None

    def _budgets(self, cfg: ProtectConfig) -> dict:
        return dict(eps_object=cfg.eps_object, eps_background=cfg.eps_background)

    @classmethod
    def from_config(cls, cfg: ProtectConfig, checkpoint: Optional[str] = None,
                    sam_checkpoint: Optional[str] = None, **options):
        return cls(cfg, **options)

    def __call__(self, images: Sequence[np.ndarray], prompts: Sequence[ImagePrompts],
                 keys: Sequence[str], channel_order: str = 'bgr') -> List[ProtectResult]:
        check_inputs(images, prompts, keys)
        return self.baseline(images, prompts, keys, channel_order)

    def describe(self) -> dict:
        return dict(method=self.name, options=dict(self.options))


@PROTECTION_METHODS.register_module(name='synper')
class SynPerMethod(_BaselineMethod):
    name = 'synper'
    impl = baselines.SynPer


@PROTECTION_METHODS.register_module(name='ar')
class ARMethod(_BaselineMethod):
    name = 'ar'
    impl = baselines.AR
    linf_bounded = False  # an L2 budget per 32 x 32 tile, as in the paper


@PROTECTION_METHODS.register_module(name='cuda')
class CUDAMethod(_BaselineMethod):
    name = 'cuda'
    impl = baselines.CUDA
    linf_bounded = False

    def _budgets(self, cfg: ProtectConfig) -> dict:
        return {}  # multiplicative: the filters, not an L-inf budget, set its strength


@PROTECTION_METHODS.register_module(name='grating')
class GratingMethod(_BaselineMethod):
    name = 'grating'
    impl = baselines.Grating


@PROTECTION_METHODS.register_module(name='uniform')
class UniformMethod(_BaselineMethod):
    name = 'uniform'
    impl = baselines.Uniform


def is_prompted(name: str) -> bool:
    """Whether protection method ``name`` reads object prompts (the generator), where the
    format's default background classes apply; class-wise methods mark every labelled class."""
    return bool(getattr(PROTECTION_METHODS.get(name), 'prompted', False))


def method_names() -> List[str]:
    return sorted(PROTECTION_METHODS.module_dict)


def build_method(name: str, cfg: ProtectConfig, checkpoint: Optional[str] = None,
                 sam_checkpoint: Optional[str] = None, options: Optional[dict] = None):
    """The protection method ``name`` (see :func:`method_names`) with ``cfg``'s budgets/seed."""
    cls = PROTECTION_METHODS.get(name)
    if cls is None:
        raise ValueError(f'unknown protection method {name!r}; choose from {method_names()}')
    return cls.from_config(cfg, checkpoint, sam_checkpoint, **(options or {}))
