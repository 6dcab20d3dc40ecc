"""Every work-around for an upstream problem of the pinned stack, in one place.

Applied once, when ``unseg_mm`` is imported (``tools/*.py`` and ``custom_imports`` both import it).
Each function names the upstream bug it works around and is a no-op where the bug is absent.
"""
import pickle
import sys
import types
import warnings

import numpy as np
import torch


def allow_mmengine_checkpoints_with_weights_only() -> None:
    """Let torch's ``weights_only`` unpickler read mmengine training checkpoints.

    torch >= 2.6 made ``torch.load(..., weights_only=True)`` the default. mmengine 0.10.7's
    ``CheckpointLoader.load_from_local`` calls ``torch.load`` without ``weights_only``, and its
    checkpoints pickle ``mmengine.logging.HistoryBuffer`` objects (holding numpy arrays) in the
    message hub, so ``--resume`` fails with "Unsupported global: ... HistoryBuffer"
    (open-mmlab/mmengine#1655; fixed on mmengine main by #1670, in no 0.10.x release).

    Instead of turning the safety check off (``weights_only=False`` or
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``), allow exactly the plain-data types these checkpoints
    contain: HistoryBuffer and the numpy array / scalar / dtype reconstructors. A HistoryBuffer
    also pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')`` etc.; ``getattr`` is
    answered by :func:`_history_buffer_getattr`, which resolves only those names.
    """
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from mmengine.logging import HistoryBuffer
    safe = [HistoryBuffer, np.ndarray, np.dtype, np.core.multiarray._reconstruct,
            np.core.multiarray.scalar, (_history_buffer_getattr, 'builtins.getattr')]
    # numpy >= 1.25 pickles dtypes as instances of per-type classes (np.dtypes.Float64DType, ...).
    dtypes_module = getattr(np, 'dtypes', None)
    if dtypes_module is not None:
        safe += [getattr(dtypes_module, name) for name in dir(dtypes_module)
                 if name.endswith('DType')]
    torch.serialization.add_safe_globals(safe)


def _history_buffer_getattr(obj, name: str):
    """``getattr`` for the weights-only unpickler, limited to HistoryBuffer's statistics methods."""
    from mmengine.logging import HistoryBuffer

    # The built-in statistics are registered lazily by the first HistoryBuffer instance.
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: only '
        f'HistoryBuffer statistics methods are allowed')


def provide_panopticapi() -> None:
    """Make mmdet's panoptic loading and metric work without the ``panopticapi`` package.

    mmdet 3.3's ``LoadPanopticAnnotations``, ``CocoPanopticMetric`` and ``DetInferencer`` import
    ``panopticapi.utils.rgb2id/id2rgb`` and ``panopticapi.evaluation.PQStat/VOID/OFFSET`` and
    refuse to run without them, but panopticapi is published only as a git repository, not on the
    package registry, so no pinned install can provide it. When it is not installed, this
    registers :mod:`unseg_mm.panoptic_eval` (an implementation of those names from the COCO
    panoptic format and PQ definition) under the module names mmdet imports, and re-binds the
    names in mmdet modules that were imported before this ran. A real panopticapi always wins.
    """
    try:
        import panopticapi  # noqa: F401
        return
    except ImportError:
        pass
    from . import panoptic_eval
    package = types.ModuleType('panopticapi')
    package.__path__ = []
    package.__doc__ = 'Stand-in registered by unseg_mm.compat (see unseg_mm/panoptic_eval.py).'
    utils = types.ModuleType('panopticapi.utils')
    evaluation = types.ModuleType('panopticapi.evaluation')
    for name in ('rgb2id', 'id2rgb'):
        setattr(utils, name, getattr(panoptic_eval, name))
    for name in ('VOID', 'OFFSET', 'PQStat', 'PQStatCat'):
        setattr(evaluation, name, getattr(panoptic_eval, name))
    package.utils = utils
    package.evaluation = evaluation
    sys.modules.update({'panopticapi': package, 'panopticapi.utils': utils,
                        'panopticapi.evaluation': evaluation})
    # Modules imported earlier captured None in their try/except ImportError fallbacks.
    rebind = {
        'mmdet.apis.det_inferencer': {'VOID': evaluation.VOID, 'id2rgb': utils.id2rgb},
        'mmdet.evaluation.metrics.coco_panoptic_metric': {
            'panopticapi': package, 'rgb2id': utils.rgb2id, 'id2rgb': utils.id2rgb,
            'VOID': evaluation.VOID, 'PQStat': evaluation.PQStat},
        'mmdet.evaluation.functional.panoptic_utils': {
            'VOID': evaluation.VOID, 'OFFSET': evaluation.OFFSET, 'PQStat': evaluation.PQStat,
            'rgb2id': utils.rgb2id},
    }
    for module_name, names in rebind.items():
        module = sys.modules.get(module_name)
        if module is not None:
            for name, value in names.items():
                if hasattr(module, name):
                    setattr(module, name, value)


def silence_pkg_resources_deprecation() -> None:
    """Hide setuptools' "pkg_resources is deprecated" warning raised on every config load.

    mmengine 0.10.7 imports ``pkg_resources`` to resolve ``mmseg::``/``mmdet::`` config bases
    (``mmengine/utils/package_utils.py``; replaced by importlib on mmengine main, unreleased), so
    the environment deliberately keeps setuptools < 81, and the warning carries no information.
    """
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)


def apply_all() -> None:
    silence_pkg_resources_deprecation()
    allow_mmengine_checkpoints_with_weights_only()
    provide_panopticapi()
