"""Offline protection of a whole dataset: a complete copy with the training images replaced.

Guarantees:
* the source tree is only read; the destination may not be inside it;
* every file but the training images is copied byte for byte, so stock configs only change
  ``data_root``; training images keep their file names (lossless PNG data by default, also under a
  ``.jpg`` name - decoders read the content, not the extension);
* every file is written to a temporary name and renamed, so a killed run never leaves a file that
  looks finished; a re-run skips images whose manifest entry matches both the source and the
  written file, and recomputes the rest with the same batches, so resumed output is byte-identical;
* bad items (unreadable image, missing or mismatched annotation, empty mask) are reported with the
  file and the reason, nothing is written for them, the rest goes on, and the run fails at the end.
"""
import json
import logging
import os
import os.path as osp
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import cv2
import mmcv
import numpy as np

from .dataset_formats import FormatSpec, format_spec, list_files
from .fileio import atomic_output, file_sha256
from .protect import ImagePrompts, ProtectConfig, is_kept_clean

MANIFEST = 'unseg_manifest.json'
PREVIEW = 'unseg_preview.png'
PROGRESS_DIR = '.unseg_progress'
SETTINGS = 'settings.json'
# Settings that may change between a run and its resumption without changing any pixel (a moved
# source is checked image by image through its SHA-256).
RESUME_FREE_SETTINGS = ('device', 'shard_id', 'src')
logger = logging.getLogger('unseg_mm.protect_dataset')


@dataclass
class Options:
    """Settings of :func:`protect_dataset` beyond the protection itself.

    ``defence`` (a defence transform config, e.g. ``dict(type='JPEGCompression', quality=10)``)
    is applied to every training image after protection: the copy is then what a trainer using
    that defence trains on (for benchmarks), not something to publish.
    """
    fmt: str
    src: str
    dst: str
    classes: Optional[Sequence[str]] = None
    mix_clean_ratio: float = 0.0
    jpeg_quality: Optional[int] = None
    defence: Optional[dict] = None
    num_shards: int = 1
    shard_id: int = 0
    preview: int = 4
    show_progress: bool = True


@dataclass
class Summary:
    total: int = 0
    written: int = 0
    skipped: int = 0
    unchanged: int = 0
    failed: List[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` durably under a temporary name beside ``path``, then rename it into place."""
    with atomic_output(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_copy(src: str, dst: str) -> None:
    with atomic_output(dst) as tmp:
        shutil.copyfile(src, tmp)


def _check_paths(src: str, dst: str) -> None:
    src_abs, dst_abs = osp.realpath(src), osp.realpath(dst)
    if src_abs == dst_abs or dst_abs.startswith(src_abs + os.sep):
        raise ValueError(f'destination {dst!r} must not be the source or inside it ({src!r}); '
                         f'the source is never modified')


def build_samples(spec: FormatSpec, src: str) -> List[dict]:
    """The training samples (dataset data infos, first occurrence of each image wins)."""
    from mmengine.registry import DefaultScope
    if spec.scope == 'mmseg':
        from mmseg.registry import DATASETS
        from mmseg.utils import register_all_modules
    else:
        from mmdet.registry import DATASETS
        from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    samples, seen = [], set()
    with DefaultScope.overwrite_default_scope(spec.scope):
        for cfg in spec.datasets:
            dataset = DATASETS.build(dict(cfg, data_root=src, pipeline=[], serialize_data=False))
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                key = osp.normpath(info['img_path'])
                if key in seen:
                    continue
                seen.add(key)
                samples.append(info)
    return samples


def _loading_pipeline(spec: FormatSpec):
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(spec.scope):
        return Compose([dict(t) for t in spec.loading])


def class_ids(spec: FormatSpec, src: str, names: Optional[Sequence[str]]) -> Optional[List[int]]:
    """Label ids (as loaded) of class ``names``; unknown names are an error listing the classes."""
    if not names:
        return None
    from mmengine.registry import DefaultScope
    registry_module = 'mmseg.registry' if spec.scope == 'mmseg' else 'mmdet.registry'
    datasets = __import__(registry_module, fromlist=['DATASETS']).DATASETS
    with DefaultScope.overwrite_default_scope(spec.scope):
        dataset_cls = datasets.get(spec.datasets[0]['type'])
    classes = list(dataset_cls.METAINFO['classes'])
    ids = []
    for name in names:
        if name.isdigit():
            ids.append(int(name))
        elif name in classes:
            ids.append(classes.index(name))
        else:
            raise ValueError(f'unknown class {name!r}; classes of this format: {classes}')
    return ids


class ProtectionRun:
    """One shard of an offline protection run (see :func:`protect_dataset`)."""

    def __init__(self, opts: Options, cfg: ProtectConfig, method) -> None:
        self.opts = opts
        self.cfg = cfg
        self.method = as_method(method, cfg)
        self.settings = settings_dict(opts, cfg, self.method)
        _check_paths(opts.src, opts.dst)
        self.spec = format_spec(opts.fmt, opts.src)
        self.classes = class_ids(self.spec, opts.src, opts.classes)
        self.pipeline = _loading_pipeline(self.spec)
        self.progress_dir = osp.join(opts.dst, PROGRESS_DIR)
        self.shard_file = osp.join(self.progress_dir,
                                   f'shard-{opts.shard_id:04d}-of-{opts.num_shards:04d}.jsonl')
        if opts.jpeg_quality is not None and not 10 <= opts.jpeg_quality <= 100:
            raise ValueError(f'jpeg_quality must be in [10, 100], got {opts.jpeg_quality}')
        if not 0 <= opts.shard_id < opts.num_shards:
            raise ValueError(f'shard_id {opts.shard_id} out of range for {opts.num_shards} shards')
        self.defence = build_defence(opts.defence)
        self._check_same_settings()

    def _check_same_settings(self) -> None:
        """A resumed run must use the settings the destination was started with: otherwise
        finished images would silently mix two protections."""
        path = osp.join(self.progress_dir, SETTINGS)
        mine = {k: v for k, v in self.settings.items() if k not in RESUME_FREE_SETTINGS}
        if osp.isfile(path):
            with open(path) as f:
                started = json.load(f)
            changed = sorted(k for k in set(started) | set(mine) if started.get(k) != mine.get(k))
            if changed:
                raise ValueError(
                    f'{self.opts.dst} was started with other settings ('
                    + ', '.join(f'{k}: {started.get(k)!r} -> {mine.get(k)!r}' for k in changed)
                    + '); resume with the same settings, or choose a new --dst')
        else:
            os.makedirs(self.progress_dir, exist_ok=True)
            atomic_write(path, json.dumps(mine, indent=1, sort_keys=True).encode())

    # -- resumable record ----------------------------------------------------------------------
    def _load_done(self) -> Dict[str, dict]:
        done = {}
        if osp.isfile(self.shard_file):
            with open(self.shard_file) as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut by a kill; the item is simply redone
                    done[entry['path']] = entry
        return done

    def _record(self, entry: dict) -> None:
        os.makedirs(self.progress_dir, exist_ok=True)
        with open(self.shard_file, 'a') as f:
            f.write(json.dumps(entry, sort_keys=True) + '\n')
            f.flush()
            os.fsync(f.fileno())

    def _is_done(self, entry: Optional[dict], rel: str) -> bool:
        if entry is None or entry.get('status') == 'failed':
            return False
        out = osp.join(self.opts.dst, rel)
        return (osp.isfile(out) and entry.get('src_sha256') == file_sha256(
            osp.join(self.opts.src, rel)) and entry.get('out_sha256') == file_sha256(out))

    # -- copying -------------------------------------------------------------------------------
    def copy_non_training(self, training: set) -> int:
        """Copy every other file byte for byte (skipping identical ones); returns the count."""
        count = 0
        for rel in list_files(self.opts.src):
            if rel in training:
                continue
            src, dst = osp.join(self.opts.src, rel), osp.join(self.opts.dst, rel)
            if osp.isfile(dst) and osp.getsize(dst) == osp.getsize(src) and \
                    file_sha256(dst) == file_sha256(src):
                continue
            atomic_copy(src, dst)
            count += 1
        return count

    # -- one item ------------------------------------------------------------------------------
    def _load(self, info: dict):
        """(results, prompts) of a sample, or raise with a message naming the file."""
        import copy
        results = self.pipeline(copy.deepcopy(info))
        if results is None:
            raise ValueError('the loading pipeline returned nothing')
        img = results['img']
        for key in ('gt_seg_map', ):
            if key in results and results[key].shape[:2] != img.shape[:2]:
                raise ValueError(f'annotation {results.get("seg_map_path")!r} is '
                                 f'{results[key].shape[0]}x{results[key].shape[1]} but the image '
                                 f'is {img.shape[0]}x{img.shape[1]}')
        from ..datasets.prompt_extraction import objects_from_results
        prompts = objects_from_results(results, ignore_labels=(255, ),
                                       background_labels=self.spec.background_labels,
                                       classes=self.classes)
        if self.opts.fmt in ('hqseg', 'folder') and not prompts.objects and self.classes is None:
            raise ValueError(f'mask {results.get("mask_path", results.get("seg_map_path"))!r} is '
                             f'empty: no object to protect')
        return results, prompts

    def _encode(self, image: np.ndarray) -> bytes:
        if self.opts.jpeg_quality is not None:
            ok, buf = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY,
                                                   self.opts.jpeg_quality])
        else:
            ok, buf = cv2.imencode('.png', image)
        if not ok:
            raise RuntimeError('image encoding failed')
        return buf.tobytes()

    def run(self) -> Summary:
        start = time.time()
        samples = build_samples(self.spec, self.opts.src)
        rels = [osp.relpath(s['img_path'], self.opts.src) for s in samples]
        os.makedirs(self.opts.dst, exist_ok=True)
        copied = self.copy_non_training(set(rels))
        logger.info(f'copied {copied} non-training files; {len(samples)} training images')
        mine = [(info, rel) for i, (info, rel) in enumerate(zip(samples, rels))
                if i % self.opts.num_shards == self.opts.shard_id]
        done = self._load_done()
        summary = Summary(total=len(mine))
        bs = max(1, self.cfg.batch_size)
        # Fixed batches (by position in the shard) so a resumed run computes exactly what an
        # uninterrupted one does.
        batches = [mine[i:i + bs] for i in range(0, len(mine), bs)]
        preview = []
        from tqdm import tqdm
        bar = tqdm(total=len(mine), unit='img', desc=f'protect {self.opts.fmt}',
                   disable=not self.opts.show_progress)
        for batch in batches:
            pending = {rel for _, rel in batch if not self._is_done(done.get(rel), rel)}
            summary.skipped += len(batch) - len(pending)
            bar.update(len(batch) - len(pending))
            if not pending:
                continue
            loaded = []
            for info, rel in batch:
                try:
                    loaded.append((rel, *self._load(info)))
                except Exception as exc:  # reported per item; the run goes on
                    if rel in pending:
                        self._fail(summary, rel, exc)
                        bar.update(1)
            to_protect = [(rel, res, prm) for rel, res, prm in loaded
                          if not is_kept_clean(osp.basename(rel), self.cfg.seed,
                                               self.opts.mix_clean_ratio)]
            results = self.method([r['img'] for _, r, _ in to_protect],
                                  [p for _, _, p in to_protect],
                                  [osp.basename(rel) for rel, _, _ in to_protect]) \
                if to_protect else []
            outputs = {rel: out for (rel, _, _), out in zip(to_protect, results)}
            for rel, res, prm in loaded:
                if rel not in pending:
                    continue
                try:
                    self._write(rel, res['img'], prm, outputs.get(rel), summary, preview)
                except Exception as exc:
                    self._fail(summary, rel, exc)
                bar.update(1)
        bar.close()
        summary.seconds = time.time() - start
        self._write_shard_summary(summary)
        if self.opts.preview and preview:
            write_preview(preview, osp.join(self.opts.dst, PREVIEW))
        return summary

    def _fail(self, summary: Summary, rel: str, exc: Exception) -> None:
        message = f'{osp.join(self.opts.src, rel)}: {exc}'
        logger.error(message)
        summary.failed.append(dict(path=rel, error=str(exc)))
        self._record(dict(path=rel, status='failed', error=str(exc)))

    def _write(self, rel: str, original: np.ndarray, prompt: ImagePrompts, protected,
               summary: Summary, preview: list) -> None:
        src_path, dst_path = osp.join(self.opts.src, rel), osp.join(self.opts.dst, rel)
        entry = dict(path=rel, src_sha256=file_sha256(src_path), num_objects=len(prompt.objects))
        done = protected is not None and protected.num_objects > 0
        status = 'protected' if done else \
            'clean (mix)' if protected is None else 'clean (no objects)'
        if not done and self.defence is None:
            # Left clean (mixed-in clean share, or no object): publish the source file as is.
            atomic_copy(src_path, dst_path)
            entry.update(status=status, linf_object=0, linf_background=0, encoding='source')
            summary.unchanged += 1
        else:
            image = protected.image if done else original
            linf = (protected.linf_object, protected.linf_background) if done else (0, 0)
            if self.defence is not None:
                image = self.defence(dict(img=image.copy(), img_path=src_path))['img']
                linf = region_linf(original, image, prompt)
                status += f' + {self.opts.defence["type"]}'
            data = self._encode(image)
            if self.opts.jpeg_quality is None:
                # The tool checks what it writes: decode the bytes and measure the change.
                decoded = mmcv.imfrombytes(data, flag='color')
                if not np.array_equal(decoded, image):
                    raise RuntimeError('the encoded image does not decode to the protected one')
                limits = (int(round(255 * self.cfg.eps_object)),
                          int(round(255 * self.cfg.eps_background)))
                if done and self.defence is None and getattr(self.method, 'linf_bounded', True) \
                        and (linf[0] > limits[0] or linf[1] > limits[1]):
                    raise RuntimeError(f'perturbation exceeds the budget: L-inf object '
                                       f'{linf[0]} > {limits[0]} or background {linf[1]} > '
                                       f'{limits[1]}')
            atomic_write(dst_path, data)
            entry.update(status=status, linf_object=linf[0], linf_background=linf[1],
                         encoding=f'jpeg q{self.opts.jpeg_quality}'
                         if self.opts.jpeg_quality is not None else 'png')
            if done:
                summary.written += 1
            else:
                summary.unchanged += 1
            if len(preview) < self.opts.preview:
                preview.append((original, image))
        entry['out_sha256'] = file_sha256(dst_path)
        self._record(entry)

    def _write_shard_summary(self, summary: Summary) -> None:
        path = self.shard_file.replace('.jsonl', '.done.json')
        atomic_write(path, json.dumps(dict(
            total=summary.total, written=summary.written, skipped=summary.skipped,
            unchanged=summary.unchanged, failed=len(summary.failed),
            seconds=summary.seconds), sort_keys=True).encode())


def write_preview(pairs, path: str, amplify: float = 10.0) -> None:
    """A grid with one row per image: clean | perturbation x ``amplify`` (around grey) | protected."""
    rows = []
    height = 160
    for clean, protected in pairs:
        scale = height / clean.shape[0]
        size = (max(1, int(round(clean.shape[1] * scale))), height)
        diff = protected.astype(np.float32) - clean.astype(np.float32)
        noise = np.clip(127.5 + amplify * diff, 0, 255).astype(np.uint8)
        cells = [cv2.resize(x, size, interpolation=cv2.INTER_NEAREST)
                 for x in (clean, noise, protected)]
        rows.append(np.concatenate(cells, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    ok, buf = cv2.imencode('.png', np.concatenate(rows, axis=0))
    if ok:
        atomic_write(path, buf.tobytes())


def merge_manifest(dst: str, settings: dict) -> Optional[dict]:
    """Merge the shard records into ``<dst>/unseg_manifest.json`` once every shard has finished.

    Returns the manifest, or None while shards are still running.
    """
    progress = osp.join(dst, PROGRESS_DIR)
    if not osp.isdir(progress):
        return None
    shards = sorted(f for f in os.listdir(progress) if f.endswith('.jsonl'))
    num = settings['num_shards']
    done = [f for f in os.listdir(progress) if f.endswith('.done.json')]
    if len(done) < num:
        return None
    entries = {}
    for name in shards:
        with open(osp.join(progress, name)) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    entries[entry['path']] = entry  # the latest record of an item wins
    images = [entries[k] for k in sorted(entries)]
    failures = [e for e in images if e['status'] == 'failed']
    manifest = dict(
        format='unseg_mm.protect_dataset/v1',
        settings=settings,
        complete=not failures,
        counts=dict(images=len(images), protected=sum(e['status'] == 'protected' for e in images),
                    unchanged=sum(e['status'].startswith('clean') for e in images),
                    failed=len(failures)),
        failures=failures,
        images=images)
    atomic_write(osp.join(dst, MANIFEST), json.dumps(manifest, indent=1, sort_keys=True).encode())
    return manifest


def region_linf(original: np.ndarray, image: np.ndarray, prompt: ImagePrompts):
    """Largest change (grey levels) inside the prompt's objects and elsewhere."""
    diff = np.abs(image.astype(np.int16) - original.astype(np.int16)).max(axis=2)
    region = np.zeros(diff.shape, bool)
    for obj in prompt.objects:
        region |= obj.astype(bool)
    return int(diff[region].max(initial=0)), int(diff[~region].max(initial=0))


def build_defence(cfg: Optional[dict]):
    """The defence transform of ``cfg`` (None: none); only image defences are accepted."""
    if cfg is None:
        return None
    from mmengine.registry import TRANSFORMS

    from ..datasets.defences import ImageDefence
    transform = TRANSFORMS.build(dict(cfg))
    if not isinstance(transform, ImageDefence):
        raise ValueError(f'{cfg["type"]} is not an image defence (see '
                         f'unseg_mm/datasets/defences.py)')
    return transform


def as_method(method, cfg: ProtectConfig):
    """A protection method of :mod:`unseg_mm.apis.methods`; a bare generator means UnSeg."""
    from ..models.generator import UnSegGenerator
    from .methods import UnSegMethod
    if isinstance(method, UnSegGenerator):
        return UnSegMethod(cfg, generator=method)
    return method


def settings_dict(opts: Options, cfg: ProtectConfig, method) -> dict:
    return dict(format=opts.fmt, src=osp.abspath(opts.src), **method.describe(),
                classes=list(opts.classes) if opts.classes else None,
                mix_clean_ratio=opts.mix_clean_ratio,
                encoding=f'jpeg q{opts.jpeg_quality}' if opts.jpeg_quality else 'png',
                defence=dict(opts.defence) if opts.defence else None, num_shards=opts.num_shards, **asdict(cfg))


def protect_dataset(opts: Options, cfg: ProtectConfig, method) -> dict:
    """Protect shard ``opts.shard_id`` of the dataset; merge the manifest when all shards are done.

    Args:
        method: a protection method (:func:`unseg_mm.apis.methods.build_method`) or a loaded
            :class:`UnSegGenerator`.

    Returns ``dict(summary=Summary, manifest=manifest or None)``.
    """
    run = ProtectionRun(opts, cfg, method)
    summary = run.run()
    manifest = merge_manifest(opts.dst, run.settings)
    return dict(summary=summary, manifest=manifest)
