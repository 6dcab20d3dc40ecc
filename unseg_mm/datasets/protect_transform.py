"""UnSegProtect: the protection as an OpenMMLab data transform (right after LoadAnnotations)."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from mmengine.registry import TRANSFORMS

from ..apis.dataset_formats import FORMATS, background_class_names, label_rules
from ..apis.dataset_samples import class_ids
from ..apis.methods import build_method, is_prompted
from ..apis.protect import ProtectConfig, is_kept_clean
from ..structures import LabelRules, sample_key
from .prompt_extraction import prompts_of_sample


@TRANSFORMS.register_module()
class UnSegProtect(BaseTransform):
    """Replace ``results['img']`` by its protected version, as ``tools/protect_dataset.py`` would
    have published it.

    Place it right after the loading transforms (``LoadImageFromFile`` + ``LoadAnnotations`` /
    ``LoadPanopticAnnotations``), before any resize, crop or flip: it sees the image as it would
    be published. Either computes the protection (``method``; UnSeg's generator is loaded lazily
    in each dataloader worker, on ``device``) or reads the image the offline tool wrote
    (``cache``), or both (cache first, computing what the cache lacks).

    Args:
        method: ``unseg`` or a baseline (``synper``, ``ar``, ``cuda``), see
            :mod:`unseg_mm.apis.methods`; one config key swaps the protection.
        method_options: the method's own hyper-parameters (e.g. ``dict(eps2=1.0)`` for ``ar``).
        checkpoint: generator file (see ``unseg_mm.apis.checkpoint``), for ``unseg``.
        sam_checkpoint: SAM file of the generator, when not the recorded one.
        cache: ``dict(src_root=..., protected_root=...)``: the protected copy of the dataset
            whose root ``src_root`` the pipeline reads from.
        eps_object, eps_background, prompt_type, multi_object, num_points, seed, device, dtype,
            parity, class_keyed, pattern_upsample, pattern_window: see
            :class:`unseg_mm.apis.protect.ProtectConfig` (``parity='reference'``: the official
            generation pipeline step by step).
        format: the dataset's format (``voc``, ``ade20k``, ``cityscapes``, ``coco``,
            ``coco_panoptic``, ``hqseg``, ``folder``): its label rules, the same as the offline
            tool's ``--format`` (VOC's 0 is background; an empty binary mask is an error).
        ignore_labels, background_labels: override the format's labels (without ``format``:
            ignore 255, no background label).
        background_classes: class names (or ``stuff``) protected as background instead of
            prompted, added to the background labels, as the tool's ``--background-classes``
            (needs ``format``; None: the format's default, for the generator ``stuff`` on
            ``cityscapes`` and ``coco_panoptic``; empty: none).
        source, classes: which annotations become objects, see
            :func:`unseg_mm.datasets.prompt_extraction.objects_from_results`.
        mix_clean_ratio: fraction of images left clean (chosen by a hash of the file name and
            ``seed``, the same images as the offline tool's ``--mix-clean-ratio``).
    """

    def __init__(self,
                 method: str = 'unseg',
                 method_options: Optional[dict] = None,
                 checkpoint: Optional[str] = None,
                 sam_checkpoint: Optional[str] = None,
                 cache: Optional[dict] = None,
                 eps_object: float = 8 / 255,
                 eps_background: Optional[float] = None,
                 prompt_type: str = 'mask',
                 multi_object: str = 'union',
                 num_points: int = 10,
                 format: Optional[str] = None,
                 source: str = 'auto',
                 ignore_labels: Optional[Sequence[int]] = None,
                 background_labels: Optional[Sequence[int]] = None,
                 background_classes: Optional[Sequence[str]] = None,
                 classes: Optional[Sequence[int]] = None,
                 mix_clean_ratio: float = 0.0,
                 seed: int = 0,
                 device: str = 'cpu',
                 dtype: str = 'float32',
                 parity: str = 'default',
                 class_keyed: bool = False,
                 pattern_upsample: str = 'bilinear',
                 pattern_window: Optional[int] = None) -> None:
        if method == 'unseg' and checkpoint is None and cache is None:
            raise ValueError('UnSegProtect needs a generator checkpoint, a cache of protected '
                             'images, or both')
        if cache is not None and set(cache) != {'src_root', 'protected_root'}:
            raise ValueError("cache must be dict(src_root=..., protected_root=...)")
        if not 0 <= mix_clean_ratio <= 1:
            raise ValueError(f'mix_clean_ratio must be in [0, 1], got {mix_clean_ratio}')
        self.checkpoint = checkpoint
        self.sam_checkpoint = sam_checkpoint
        self.cache = cache
        self.cfg = ProtectConfig(eps_object=eps_object, eps_background=eps_background,
                                 prompt_type=prompt_type, multi_object=multi_object,
                                 num_points=num_points, seed=seed, device=device, dtype=dtype,
                                 batch_size=1, parity=parity, class_keyed=class_keyed,
                                 pattern_upsample=pattern_upsample,
                                 pattern_window=pattern_window)
        self.source = source
        if format is None and background_classes:
            raise ValueError('UnSegProtect: background_classes needs format= (which dataset '
                             'format names the classes)')
        rules = LabelRules() if format is None else label_rules(format)
        self.rules = LabelRules(
            ignore_labels=rules.ignore_labels if ignore_labels is None else tuple(ignore_labels),
            background_labels=rules.background_labels if background_labels is None
            else tuple(background_labels),
            objects_required=rules.objects_required)
        # the same classes as the offline tool's, by name (only the spec's class metadata is read)
        names = () if format is None else background_class_names(format, background_classes,
                                                                  is_prompted(method))
        if names:
            self.rules = self.rules.with_background(class_ids(FORMATS[format](''), names))
        self.classes = None if classes is None else tuple(classes)
        self.mix_clean_ratio = mix_clean_ratio
        self.method_name = method
        # Only a cache: nothing is computed, so no method is needed.
        self.method = None if method == 'unseg' and checkpoint is None else build_method(
            method, self.cfg, checkpoint, sam_checkpoint, method_options)

    def _from_cache(self, img_path: str) -> Optional[np.ndarray]:
        rel = osp.relpath(osp.abspath(img_path), osp.abspath(self.cache['src_root']))
        if rel.startswith('..'):
            raise ValueError(f'{img_path!r} is not under the cache src_root '
                             f'{self.cache["src_root"]!r}')
        path = osp.join(self.cache['protected_root'], rel)
        if not osp.isfile(path):
            if self.method is None:
                raise FileNotFoundError(f'protected image {path!r} (for {img_path!r}) is missing '
                                        f'from the cache; run tools/protect_dataset.py or give '
                                        f'a checkpoint')
            return None
        return mmcv.imfrombytes(get(path), flag='color')

    def transform(self, results: dict) -> dict:
        img = results['img']
        key = sample_key(results['img_path'])
        if is_kept_clean(key, self.cfg.seed, self.mix_clean_ratio):
            return results
        protected = self._from_cache(results['img_path']) if self.cache else None
        if protected is None:
            as_uint8 = img
            if img.dtype != np.uint8:
                as_uint8 = img.astype(np.uint8)
                if not np.array_equal(as_uint8, img):
                    raise ValueError(f'{results["img_path"]}: UnSegProtect needs the image as '
                                     f'loaded (integer 0-255 values); move it before any '
                                     f'normalisation or resizing')
            prompts = prompts_of_sample(results, self.rules, self.source, self.classes)
            protected = self.method([as_uint8], [prompts], [key])[0].image
        if protected.shape != img.shape:
            raise ValueError(f'protected image for {results["img_path"]} is {protected.shape}, '
                             f'the loaded one {img.shape}')
        results['img'] = protected.astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(method={self.method_name!r}, '
                f'checkpoint={self.checkpoint!r}, cache={self.cache!r}, '
                f'eps_object={self.cfg.eps_object:.5f}, eps_background='
                f'{self.cfg.eps_background:.5f}, prompt_type={self.cfg.prompt_type!r})')
