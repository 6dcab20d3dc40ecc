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

Reproducibility contract. A generator's float results depend on the *numerical path*: torch
version, device (CPU instruction set or GPU model), dtype, batch size and CPU thread count (they
change the order of float sums). Within one path, output is byte-identical whatever the number of
shards, the order they run in, or interruptions: batches are fixed by position in the whole
dataset (shards take whole batches), and the destination pins the path it was started with (later
shards and resumes adopt its thread count, see :func:`numerical_path`). A run on another path is
refused unless ``allow_mixed_numerics`` is set; then the manifest says which image came from which
path. Across paths, published pixels may differ by a grey level where a value sits on a rounding
boundary (measured by ``benchmarks/numerics.py``); the L-inf budget is checked on every file.

Modules: :mod:`.dataset_samples` (which images, how they are loaded), :mod:`.progress`
(progress records, settings and numerics pinning, the manifest), :mod:`.writer` (encoding,
verification, preview); this one runs a shard through them.
"""
import hashlib
import logging
import os
import os.path as osp
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Sequence

import mmcv
import numpy as np

from ..datasets.prompt_extraction import prompts_of_sample
from ..structures import ImagePrompts, sample_key
from .dataset_formats import background_class_names, format_spec, list_files
from .dataset_samples import build_samples, check_image_file, class_ids, loading_pipeline
from .fileio import (atomic_copy, atomic_write, check_source_and_destination,
                     copy_unless_identical, file_sha256, sync_file)
from .progress import (MANIFEST, Status, append_records, check_same_settings, is_done,
                       merge_manifest, numerics_id, pin_numerics, read_records, shard_file,
                       write_shard_summary)
from .protect import RECORDED_WHERE_SET, ProtectConfig, is_kept_clean
from .writer import PREVIEW, check_lossless, encode_image, write_preview

logger = logging.getLogger('unseg_mm.protect_dataset')


@dataclass
class Options:
    """Settings of :func:`protect_dataset` beyond the protection itself.

    ``classes``: protect only objects of these classes (names or label ids); the other objects
    stay clean. ``background_classes``: classes that are not prompted as objects but protected
    as background (the background budget; ``stuff`` names the format's stuff classes; None: the
    format's default, for the generator ``stuff`` on ADE20K, Cityscapes and COCO panoptic, else
    none;
    empty: none): on
    formats where every pixel is labelled, the union of all regions is the whole frame and tells
    the generator nothing; prompting things only is the reference code's ``multi`` mode.
    ``num_threads``: CPU threads of the generator (default: those the destination was started
    with, else torch's current count). ``workers``: threads that decode ahead of the generator
    and encode/hash/write behind it (0: every step in turn on one thread; the output is the
    same). ``allow_mixed_numerics``: go on although this run's numerical path differs from the
    destination's (recorded per image in the manifest).
    """
    fmt: str
    src: str
    dst: str
    classes: Optional[Sequence[str]] = None
    background_classes: Optional[Sequence[str]] = None
    mix_clean_ratio: float = 0.0
    jpeg_quality: Optional[int] = None
    num_shards: int = 1
    shard_id: int = 0
    preview: int = 4
    show_progress: bool = True
    num_threads: Optional[int] = None
    allow_mixed_numerics: bool = False
    workers: int = 2


@dataclass
class Summary:
    total: int = 0
    written: int = 0
    skipped: int = 0
    unchanged: int = 0
    failed: List[dict] = field(default_factory=list)
    seconds: float = 0.0
    # wall seconds per stage (decode, generator, encode, hash, write, record), summed over threads
    stage_seconds: dict = field(default_factory=dict)

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


@contextmanager
def torch_threads(num: Optional[int]):
    """Run the block with ``num`` intra-op threads (None: unchanged), restoring them after."""
    import torch
    before = torch.get_num_threads()
    if num is not None and num != before:
        torch.set_num_threads(num)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class ProtectionRun:
    """One shard of an offline protection run (see :func:`protect_dataset`)."""

    def __init__(self, opts: Options, cfg: ProtectConfig, method) -> None:
        self.opts = opts
        self.cfg = cfg
        self.method = as_method(method, cfg)
        self.settings = settings_dict(opts, cfg, self.method)
        check_source_and_destination(opts.src, opts.dst)
        self.spec = format_spec(opts.fmt, opts.src)
        self.classes = class_ids(self.spec, opts.classes)
        # the names the settings record (the format's default resolved there)
        background = class_ids(self.spec, self.settings.get('background_classes'))
        if background:
            self.spec.rules = self.spec.rules.with_background(background)
        self.pipeline = loading_pipeline(self.spec)
        self.shard_file = shard_file(opts.dst, opts.shard_id, opts.num_shards)
        if opts.jpeg_quality is not None and not 10 <= opts.jpeg_quality <= 100:
            raise ValueError(f'jpeg_quality must be in [10, 100], got {opts.jpeg_quality}')
        if not 0 <= opts.shard_id < opts.num_shards:
            raise ValueError(f'shard_id {opts.shard_id} out of range for {opts.num_shards} shards')
        if opts.num_threads is not None and opts.num_threads < 1:
            raise ValueError(f'num_threads must be >= 1, got {opts.num_threads}')
        if opts.workers < 0:
            raise ValueError(f'workers must be >= 0, got {opts.workers}')
        check_same_settings(opts.dst, self.settings)
        self.stage_seconds = {}
        self._lock = threading.Lock()
        # Methods without a generator have no numerical path: their numpy arithmetic does not
        # depend on threads or batches.
        self.numerics = pin_numerics(opts.dst, self.shard_file, cfg, opts.num_threads,
                                     opts.allow_mixed_numerics) \
            if getattr(self.method, 'needs_checkpoint', False) else None

    # -- copying -------------------------------------------------------------------------------
    def copy_non_training(self, training: set) -> int:
        """Copy every other file byte for byte (skipping identical ones); returns the count."""
        return sum(copy_unless_identical(osp.join(self.opts.src, rel), osp.join(self.opts.dst, rel))
                   for rel in list_files(self.opts.src) if rel not in training)

    # -- one item ------------------------------------------------------------------------------
    def _load(self, info: dict):
        """(results, prompts) of a sample, or raise with a message naming the file."""
        import copy
        with self.timer('decode'):
            check_image_file(info['img_path'])
            results = self.pipeline(copy.deepcopy(info))
            if results is None:
                raise ValueError('the loading pipeline returned nothing')
            return results, prompts_of_sample(results, self.spec.rules, classes=self.classes)

    def run(self) -> Summary:
        """Protect the shard as a pipeline: a pool of ``opts.workers`` threads decodes the next
        batches ahead of the generator and encodes, verifies, hashes and writes finished images
        behind it; the generator runs on this thread. Results are consumed in dataset order, so
        files, records and the manifest do not depend on the number of workers."""
        start = time.time()
        samples = build_samples(self.spec, self.opts.src)
        rels = [osp.relpath(s['img_path'], self.opts.src) for s in samples]
        os.makedirs(self.opts.dst, exist_ok=True)
        copied = self.copy_non_training(set(rels))
        logger.info(f'copied {copied} non-training files; {len(samples)} training images')
        done = read_records(self.shard_file)
        bs = max(1, self.cfg.batch_size)
        # Fixed batches by position in the whole dataset, and shards take whole batches: every
        # image is computed in the same batch whatever the number of shards, and a resumed run
        # computes exactly what an uninterrupted one does.
        items = list(zip(samples, rels))
        batches = [items[i:i + bs] for i in range(0, len(items), bs)]
        batches = batches[self.opts.shard_id::self.opts.num_shards]
        summary = Summary(total=sum(len(b) for b in batches))
        from tqdm import tqdm
        bar = tqdm(total=summary.total, unit='img', desc=f'protect {self.opts.fmt}',
                   disable=not self.opts.show_progress)
        todo = []
        for batch in batches:
            pending = {rel for _, rel in batch
                       if not is_done(done.get(rel), osp.join(self.opts.src, rel),
                                      osp.join(self.opts.dst, rel))}
            summary.skipped += len(batch) - len(pending)
            bar.update(len(batch) - len(pending))
            if pending:
                todo.append((batch, pending))
        workers = self.opts.workers
        pool = ThreadPoolExecutor(workers, thread_name_prefix='protect') if workers else None
        submit = pool.submit if pool else _run_now
        # Bounds of the pipeline: batches decoded ahead, images waiting to be written.
        lookahead, backlog = 2, max(2 * bs, 2 * workers)
        loads, writes = deque(), deque()  # futures, in dataset order
        try:
            ahead = 0
            for batch, pending in todo:
                while ahead < len(todo) and len(loads) < lookahead:
                    loads.append([submit(self._load, info) for info, _ in todo[ahead][0]])
                    ahead += 1
                loaded = []
                for (_, rel), future in zip(batch, loads.popleft()):
                    try:
                        loaded.append((rel, *future.result()))
                    except Exception as exc:  # reported per item, in order; the run goes on
                        if rel in pending:
                            writes.append((rel, _Finished(error=exc)))
                to_protect = [(rel, res, prm) for rel, res, prm in loaded
                              if not is_kept_clean(sample_key(rel), self.cfg.seed,
                                                   self.opts.mix_clean_ratio)]
                with self.timer('generator'), torch_threads(
                        None if self.numerics is None else self.numerics.get('num_threads')):
                    results = self.method([r['img'] for _, r, _ in to_protect],
                                          [p for _, _, p in to_protect],
                                          [sample_key(rel) for rel, _, _ in to_protect]) \
                        if to_protect else []
                outputs = {rel: out for (rel, _, _), out in zip(to_protect, results)}
                for rel, res, prm in loaded:
                    if rel in pending:
                        writes.append((rel, submit(self._publish, rel, res['img'], prm,
                                                   outputs.get(rel))))
                self._record(writes, backlog, summary, bar)
            self._record(writes, 0, summary, bar)
        finally:
            if pool:
                pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        with self.timer('record'):
            sync_file(self.shard_file)
        summary.seconds = time.time() - start
        summary.stage_seconds = dict(self.stage_seconds)
        write_shard_summary(self.shard_file, dict(
            total=summary.total, written=summary.written, skipped=summary.skipped,
            unchanged=summary.unchanged, failed=len(summary.failed), seconds=summary.seconds,
            stage_seconds=summary.stage_seconds))
        return summary

    @contextmanager
    def timer(self, stage: str):
        """Add the block's wall time to ``stage_seconds[stage]`` (any thread)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + \
                    time.perf_counter() - start

    def _record(self, writes: deque, keep: int, summary: Summary, bar) -> None:
        """Record finished items in dataset order until at most ``keep`` are outstanding (the
        oldest are waited for); one append for the group (synced to disk when the shard ends).
        A record is appended only after its file is in place, so a killed run recomputes, never
        trusts, the rest."""
        entries = []
        while writes and (len(writes) > keep or writes[0][1].done()):
            rel, future = writes.popleft()
            try:
                entry = future.result()
            except Exception as exc:
                message = f'{osp.join(self.opts.src, rel)}: {exc}'
                logger.error(message)
                summary.failed.append(dict(path=rel, error=str(exc)))
                entry = dict(path=rel, status=Status.FAILED.value, error=str(exc))
            else:
                if entry['status'] == Status.PROTECTED.value:
                    summary.written += 1
                else:
                    summary.unchanged += 1
            entries.append(entry)
            bar.update(1)
        if entries:
            with self.timer('record'):
                append_records(self.shard_file, entries)

    def _publish(self, rel: str, original: np.ndarray, prompt: ImagePrompts,
                 protected) -> dict:
        """Write one training image of the destination (atomically); returns its record."""
        src_path, dst_path = osp.join(self.opts.src, rel), osp.join(self.opts.dst, rel)
        with self.timer('hash'):
            entry = dict(path=rel, src_sha256=file_sha256(src_path),
                         num_objects=len(prompt.objects))
        done = protected is not None and protected.num_objects > 0
        if done and self.numerics is not None:
            entry['numerics'] = numerics_id(self.numerics)
        status = Status.PROTECTED if done else \
            Status.CLEAN_MIX if protected is None else Status.CLEAN_NO_OBJECTS
        reencode = status is Status.CLEAN_NO_OBJECTS and self.cfg.parity == 'reference'
        if not done and not reencode:
            # Left clean (mixed-in clean share, or no object): publish the source file as is
            # (the reference pipeline re-encodes images without objects, as the official script).
            with self.timer('write'):
                atomic_copy(src_path, dst_path)
            with self.timer('hash'):
                entry['out_sha256'] = file_sha256(dst_path)  # the copy, read back
            entry.update(status=status.value, linf_object=0, linf_background=0,
                         encoding='source')
        else:
            image = protected.image if done else original
            linf = (protected.linf_object, protected.linf_background) if done else (0, 0)
            with self.timer('encode'):
                data = encode_image(image, self.opts.jpeg_quality)
                if self.opts.jpeg_quality is None:
                    check_lossless(data, image)
            if self.opts.jpeg_quality is None:
                limits = (int(round(255 * self.cfg.eps_object)),
                          int(round(255 * self.cfg.eps_background)))
                if done and getattr(self.method, 'linf_bounded', True) \
                        and (linf[0] > limits[0] or linf[1] > limits[1]):
                    raise RuntimeError(f'perturbation exceeds the budget: L-inf object '
                                       f'{linf[0]} > {limits[0]} or background {linf[1]} > '
                                       f'{limits[1]}')
            with self.timer('write'):
                atomic_write(dst_path, data)
            with self.timer('hash'):
                entry['out_sha256'] = hashlib.sha256(data).hexdigest()  # the bytes just written
            entry.update(status=status.value, linf_object=linf[0], linf_background=linf[1],
                         encoding=f'jpeg q{self.opts.jpeg_quality}'
                         if self.opts.jpeg_quality is not None else 'png')
        return entry


class _Finished:
    """A completed future (the pipeline without worker threads runs each step at once)."""

    def __init__(self, result=None, error: Exception = None) -> None:
        self._result, self._error = result, error

    def done(self) -> bool:
        return True

    def result(self):
        if self._error is not None:
            raise self._error
        return self._result


def _run_now(fn, *args) -> _Finished:
    try:
        return _Finished(fn(*args))
    except Exception as exc:
        return _Finished(error=exc)



def as_method(method, cfg: ProtectConfig):
    """A protection method of :mod:`unseg_mm.apis.methods`; a bare generator means UnSeg."""
    from ..models.generator import UnSegGenerator
    from .methods import UnSegMethod
    if isinstance(method, UnSegGenerator):
        return UnSegMethod(cfg, generator=method)
    return method


def settings_dict(opts: Options, cfg: ProtectConfig, method) -> dict:
    background = background_class_names(opts.fmt, opts.background_classes,
                                        getattr(method, 'prompted', False))
    return dict(format=opts.fmt, src=osp.abspath(opts.src), **method.describe(),
                classes=list(opts.classes) if opts.classes else None,
                # only where there are any: the settings (and manifests) of other runs stay as
                # they were
                **(dict(background_classes=list(background)) if background else {}),
                mix_clean_ratio=opts.mix_clean_ratio,
                encoding=f'jpeg q{opts.jpeg_quality}' if opts.jpeg_quality else 'png',
                num_shards=opts.num_shards, **_config_settings(cfg))


def _config_settings(cfg: ProtectConfig) -> dict:
    """``cfg`` as recorded in the settings; the fields of ``RECORDED_WHERE_SET`` only where they
    are not the default, so the settings (and manifests) of runs without them stay as they
    were."""
    return {name: value for name, value in asdict(cfg).items()
            if name not in RECORDED_WHERE_SET or value != RECORDED_WHERE_SET[name]}


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
    if manifest is not None and opts.preview:
        # the first protected images by path, read back from disk: the same preview whatever
        # the shards, their order and interruptions
        chosen = [e['path'] for e in manifest['images']
                  if e['status'] == Status.PROTECTED.value][:opts.preview]
        if chosen:
            write_preview([(mmcv.imread(osp.join(opts.src, rel), flag='color'),
                            mmcv.imread(osp.join(opts.dst, rel), flag='color'))
                           for rel in chosen], osp.join(opts.dst, PREVIEW))
    return dict(summary=summary, manifest=manifest)


# The tool's public names (MANIFEST, PREVIEW and build_samples are re-exported for callers that
# read a destination).
__all__ = ['Options', 'Summary', 'ProtectionRun', 'protect_dataset', 'as_method', 'settings_dict',
           'torch_threads', 'MANIFEST', 'PREVIEW', 'build_samples', 'check_image_file']
