"""Config surgery shared by tools, tests and benchmarks."""
import copy
from typing import Any, Callable, Iterator

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


def insert_after_loading(pipeline: list, transform: dict) -> list:
    """A copy of ``pipeline`` with ``transform`` right after its last annotation-loading step.

    That is where a published (protected) image file would enter: before any resize, crop, flip
    or photometric change.
    """
    positions = [i for i, t in enumerate(pipeline) if _short_type(t['type']) in LOADING_TRANSFORMS]
    if not positions:
        raise ValueError('the pipeline has no LoadAnnotations/LoadPanopticAnnotations step to '
                         f'insert {transform.get("type")} after: {[t["type"] for t in pipeline]}')
    at = positions[-1] + 1
    return list(pipeline[:at]) + [dict(transform)] + list(pipeline[at:])


def with_protection(dataset_cfg: dict, transform: dict) -> dict:
    """A copy of a (possibly wrapped) training dataset config with ``transform`` inserted into
    every leaf dataset's pipeline; validation/test datasets are never passed here.

    Use in a config after ``_base_``::

        from unseg_mm.apis.config_utils import with_protection
        train_dataloader = dict(dataset=with_protection(_base_.train_dataloader.dataset,
                                                        dict(type='UnSegProtect', ...)))
    """
    dataset_cfg = copy.deepcopy(dataset_cfg)
    leaves = list(iter_datasets(dataset_cfg))
    if not any('pipeline' in leaf for leaf in leaves):
        raise ValueError('no pipeline found in the dataset config')
    for leaf in leaves:
        if 'pipeline' in leaf:
            leaf['pipeline'] = insert_after_loading(leaf['pipeline'], transform)
    return dataset_cfg
