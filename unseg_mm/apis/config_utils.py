"""Config surgery shared by tools, tests and benchmarks."""
import copy
from typing import Any, Callable, Iterator, Sequence

from mmengine.config import Config, ConfigDict


def _walk(node: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return fn(node)
    if isinstance(node, (dict, ConfigDict)):
        for key in list(node.keys()):
            node[key] = _walk(node[key], fn)
        return node
    if isinstance(node, list):
        return [_walk(v, fn) for v in node]
    if isinstance(node, tuple):
        return tuple(_walk(v, fn) for v in node)
    return node


def rebase_paths(cfg: Config, old_prefix: str, new_prefix: str) -> Config:
    """Replace the leading ``old_prefix`` of every string in ``cfg`` by ``new_prefix``, in place.

    Stock configs concatenate ``data_root`` into evaluator ``ann_file``/``seg_prefix`` strings at
    parse time, so moving a dataset means rewriting every such string, not just ``data_root``.
    """
    old = old_prefix.rstrip('/')
    new = new_prefix.rstrip('/')

    def fn(value: str) -> str:
        if value == old or value.startswith(old + '/'):
            return new + value[len(old):]
        return value

    for key in list(cfg.keys()):
        cfg[key] = _walk(cfg[key], fn)
    return cfg


def iter_datasets(dataset_cfg: dict) -> Iterator[dict]:
    """Yield every leaf dataset config inside dataset wrappers (``dataset``/``datasets`` keys)."""
    if 'datasets' in dataset_cfg:
        for child in dataset_cfg['datasets']:
            yield from iter_datasets(child)
    elif 'dataset' in dataset_cfg:
        yield from iter_datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


LOADING_TRANSFORMS = ('LoadAnnotations', 'LoadPanopticAnnotations', 'LoadBinaryMask')


def _short_type(t) -> str:
    name = t if isinstance(t, str) else getattr(t, '__name__', str(t))
    return name.split('.')[-1]


def insert_after_loading(pipeline: list, transform: dict,
                         anchors: Sequence[str] = LOADING_TRANSFORMS) -> list:
    """A copy of ``pipeline`` with ``transform`` right after its last annotation-loading step
    (more generally: its last step whose type is in ``anchors``).

    That is where a published (protected) image file would enter: before any resize, crop, flip
    or photometric change.
    """
    positions = [i for i, t in enumerate(pipeline) if _short_type(t['type']) in anchors]
    if not positions:
        raise ValueError(f'the pipeline has no {"/".join(anchors)} step to insert '
                         f'{transform.get("type")} after: {[t["type"] for t in pipeline]}')
    at = positions[-1] + 1
    return list(pipeline[:at]) + [dict(transform)] + list(pipeline[at:])


def _patch_pipelines(dataset_cfg: dict, transform: dict, anchors: Sequence[str]) -> dict:
    dataset_cfg = copy.deepcopy(dataset_cfg)
    leaves = [leaf for leaf in iter_datasets(dataset_cfg) if 'pipeline' in leaf]
    if not leaves:
        raise ValueError('no pipeline found in the dataset config')
    for leaf in leaves:
        leaf['pipeline'] = insert_after_loading(leaf['pipeline'], transform, anchors)
    return dataset_cfg


def with_protection(dataset_cfg: dict, transform: dict) -> dict:
    """A copy of a (possibly wrapped) training dataset config with ``transform`` inserted into
    every leaf dataset's pipeline; validation/test datasets are never passed here.

    Use in a config after ``_base_``::

        from unseg_mm.apis.config_utils import with_protection
        train_dataloader = dict(dataset=with_protection(_base_.train_dataloader.dataset,
                                                        dict(type='UnSegProtect', ...)))
    """
    return _patch_pipelines(dataset_cfg, transform, LOADING_TRANSFORMS)


def with_defence(dataset_cfg: dict, transform: dict) -> dict:
    """A copy of a training dataset config with the defence ``transform`` (e.g.
    ``dict(type='JPEGCompression', quality=10)``) right after the image is loaded and, when the
    pipeline protects images online, after ``UnSegProtect``: the trainer defends the images as
    published."""
    return _patch_pipelines(dataset_cfg, transform, ('UnSegProtect', ) + LOADING_TRANSFORMS)


def with_adversarial_training(model_cfg: dict, **pgd) -> dict:
    """``model_cfg`` wrapped in :class:`~unseg_mm.engine.adversarial.PGDAdversarialTraining`
    (``pgd``: eps, steps, step_size, random_start, adversarial_fraction). The result replaces
    the base config's model (``_delete_``)::

        model = with_adversarial_training(_base_.model, eps=4 / 255, steps=5)
    """
    return dict(_delete_=True, type='PGDAdversarialTraining',
                model=copy.deepcopy(model_cfg), **pgd)


def set_schedule(cfg: Config, length: int) -> Config:
    """Set the training length of an iteration- or epoch-based config to ``length`` (iterations
    or epochs, whichever it counts), in place: the train loop, the validation and checkpoint
    intervals (the logging interval too where it exceeds the run), and the LR schedulers counted
    in the same unit (``begin``, ``end`` and ``milestones`` scaled to the new length; schedulers'
    bounds are fixed when the base config is parsed, so they are rewritten here).
    Validation runs once, at the end.
    """
    if length < 1:
        raise ValueError(f'schedule length must be >= 1, got {length}')
    by_epoch = 'max_epochs' in cfg.train_cfg
    key = 'max_epochs' if by_epoch else 'max_iters'
    old = cfg.train_cfg[key]
    cfg.train_cfg[key] = length
    cfg.train_cfg.val_interval = length
    cfg.train_cfg.pop('dynamic_intervals', None)
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for sched in schedulers:
        if sched.get('by_epoch', True) != by_epoch:
            continue  # e.g. an iteration warm-up in an epoch-based config
        for bound in ('begin', 'end'):
            if sched.get(bound) is not None:
                sched[bound] = length if sched[bound] >= old else round(
                    sched[bound] * length / old)
        if 'milestones' in sched:
            sched['milestones'] = [max(1, round(m * length / old)) for m in sched['milestones']]
        if 'T_max' in sched:
            sched['T_max'] = length
    if schedulers:
        cfg.param_scheduler = schedulers
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint is not None:
        checkpoint['interval'] = length
    logger = cfg.get('default_hooks', {}).get('logger')
    if not by_epoch and logger is not None and logger.get('interval', 10) > length:
        logger['interval'] = length  # a run shorter than the interval would log no loss at all
    return cfg
