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
"""
import hashlib
import json
import logging
import os
import os.path as osp
import platform
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import cv2
import mmcv
import numpy as np

from .dataset_formats import FormatSpec, format_spec, list_files
from .fileio import atomic_output, file_sha256
from ..datasets.prompt_extraction import prompts_of_sample
from ..structures import ImagePrompts, sample_key
from .protect import ProtectConfig, is_kept_clean

MANIFEST = 'unseg_manifest.json'
PREVIEW = 'unseg_preview.png'
PROGRESS_DIR = '.unseg_progress'
SETTINGS = 'settings.json'
NUMERICS = 'numerics.json'
# Settings that may change between a run and its resumption without changing any pixel (a moved
# source is checked image by image through its SHA-256). The batch size is checked with the rest
# of the numerical path (see numerical_path).
RESUME_FREE_SETTINGS = ('device', 'shard_id', 'src', 'batch_size')
logger = logging.getLogger('unseg_mm.protect_dataset')


@dataclass
class Options:
    """Settings of :func:`protect_dataset` beyond the protection itself.

    ``defence`` (a defence transform config, e.g. ``dict(type='JPEGCompression', quality=10)``)
    is applied to every training image after protection: the copy is then what a trainer using
    that defence trains on (for benchmarks), not something to publish.

    ``num_threads``: CPU threads of the generator (default: those the destination was started
    with, else torch's current count). ``allow_mixed_numerics``: go on although this run's
    numerical path differs from the destination's (recorded per image in the manifest).
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
    num_threads: Optional[int] = None
    allow_mixed_numerics: bool = False


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


def numerical_path(cfg: ProtectConfig, num_threads: int) -> dict:
    """What, beyond the settings, decides the generator's float results on this machine."""
    import torch
    device = torch.device(cfg.device)
    path = dict(torch=torch.__version__, device=device.type, dtype=cfg.dtype,
                batch_size=cfg.batch_size)
    if device.type == 'cuda':
        path.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    else:
        path.update(cpu=f'{platform.machine()} {torch.backends.cpu.get_cpu_capability()}',
                    num_threads=int(num_threads))
    return path


def numerics_id(path: dict) -> str:
    """Short stable name of a numerical path (recorded with every protected image)."""
    return hashlib.sha256(json.dumps(path, sort_keys=True).encode()).hexdigest()[:12]


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
        if opts.num_threads is not None and opts.num_threads < 1:
            raise ValueError(f'num_threads must be >= 1, got {opts.num_threads}')
        self.defence = build_defence(opts.defence)
        self._check_same_settings()
        self.numerics = self._pin_numerics()

    def _pin_numerics(self) -> Optional[dict]:
        """This run's numerical path, checked against the one the destination was started with.

        Returns None for methods without a generator (their numpy arithmetic does not depend on
        threads or batches). The first run of a destination records its path (created
        exclusively, so concurrent shards agree on one); later runs adopt its thread count unless
        ``num_threads`` is given, and refuse a different path unless ``allow_mixed_numerics``.
        """
        import torch
        if not getattr(self.method, 'needs_checkpoint', False):
            return None
        path = osp.join(self.progress_dir, NUMERICS)
        pinned = None
        if osp.isfile(path):
            with open(path) as f:
                pinned = json.load(f)
        threads = self.opts.num_threads
        if threads is None:
            threads = (pinned or {}).get('num_threads') or torch.get_num_threads()
        mine = numerical_path(self.cfg, threads)
        if pinned is None:
            os.makedirs(self.progress_dir, exist_ok=True)
            tmp = f'{path}.{os.getpid()}.partial'
            with open(tmp, 'w') as f:
                json.dump(mine, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)  # atomic and exclusive: the first shard to start wins
            except FileExistsError:  # another shard started at the same moment: compare with it
                return self._pin_numerics()
            finally:
                os.remove(tmp)
            pinned = mine
        if mine != pinned:
            changed = sorted(k for k in set(pinned) | set(mine) if pinned.get(k) != mine.get(k))
            detail = ', '.join(f'{k}: {pinned.get(k)!r} -> {mine.get(k)!r}' for k in changed)
            if not self.opts.allow_mixed_numerics:
                raise ValueError(
                    f'{self.opts.dst} was started on another numerical path ({detail}); its '
                    f'images could differ from the rest by a grey level where a value sits on a '
                    f'rounding boundary. Run with the same settings (e.g. --num-threads '
                    f'{pinned.get("num_threads")}, --batch-size {pinned.get("batch_size")}, same '
                    f'torch and device), or pass --allow-mixed-numerics to go on and record each '
                    f"image's path in the manifest, or choose a new --dst")
            logger.warning(f'numerical path differs from the one {self.opts.dst} was started with '
                           f'({detail}); going on (--allow-mixed-numerics), recorded per image')
        # the paths this shard used, by id, for the manifest (only this shard writes the file)
        record = self.shard_file.replace('.jsonl', '.numerics.json')
        used = {}
        if osp.isfile(record):
            with open(record) as f:
                used = json.load(f)
        if numerics_id(mine) not in used:
            used[numerics_id(mine)] = mine
            atomic_write(record, json.dumps(used, indent=1, sort_keys=True).encode())
        return mine

    def _check_same_settings(self) -> None:
        """A resumed run must use the settings the destination was started with: otherwise
        finished images would silently mix two protections."""
        path = osp.join(self.progress_dir, SETTINGS)
        mine = {k: v for k, v in self.settings.items() if k not in RESUME_FREE_SETTINGS}
        if osp.isfile(path):
            with open(path) as f:
                started = {k: v for k, v in json.load(f).items() if k not in RESUME_FREE_SETTINGS}
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
        check_image_file(info['img_path'])
        results = self.pipeline(copy.deepcopy(info))
        if results is None:
            raise ValueError('the loading pipeline returned nothing')
        _key, prompts = prompts_of_sample(results, self.spec.rules, classes=self.classes)
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
        done = self._load_done()
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
                          if not is_kept_clean(sample_key(rel), self.cfg.seed,
                                               self.opts.mix_clean_ratio)]
            with torch_threads(None if self.numerics is None
                               else self.numerics.get('num_threads')):
                results = self.method([r['img'] for _, r, _ in to_protect],
                                      [p for _, _, p in to_protect],
                                      [sample_key(rel) for rel, _, _ in to_protect]) \
                    if to_protect else []
            outputs = {rel: out for (rel, _, _), out in zip(to_protect, results)}
            for rel, res, prm in loaded:
                if rel not in pending:
                    continue
                try:
                    self._write(rel, res['img'], prm, outputs.get(rel), summary)
                except Exception as exc:
                    self._fail(summary, rel, exc)
                bar.update(1)
        bar.close()
        summary.seconds = time.time() - start
        self._write_shard_summary(summary)
        return summary

    def _fail(self, summary: Summary, rel: str, exc: Exception) -> None:
        message = f'{osp.join(self.opts.src, rel)}: {exc}'
        logger.error(message)
        summary.failed.append(dict(path=rel, error=str(exc)))
        self._record(dict(path=rel, status='failed', error=str(exc)))

    def _write(self, rel: str, original: np.ndarray, prompt: ImagePrompts, protected,
               summary: Summary) -> None:
        src_path, dst_path = osp.join(self.opts.src, rel), osp.join(self.opts.dst, rel)
        entry = dict(path=rel, src_sha256=file_sha256(src_path), num_objects=len(prompt.objects))
        done = protected is not None and protected.num_objects > 0
        if done and self.numerics is not None:
            entry['numerics'] = numerics_id(self.numerics)
        status = 'protected' if done else \
            'clean (mix)' if protected is None else 'clean (no objects)'
        reencode = status == 'clean (no objects)' and self.cfg.parity == 'reference'
        if not done and self.defence is None and not reencode:
            # Left clean (mixed-in clean share, or no object): publish the source file as is
            # (the reference pipeline re-encodes images without objects, as the official script).
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
    paths = {}
    for name in os.listdir(progress):
        if name.endswith('.numerics.json'):
            with open(osp.join(progress, name)) as f:
                paths.update(json.load(f))
    used = sorted({e['numerics'] for e in images if 'numerics' in e})
    manifest = dict(
        format='unseg_mm.protect_dataset/v1',
        settings=settings,
        complete=not failures,
        counts=dict(images=len(images),
                    # a benchmark's defended copy records 'protected + <defence>'
                    protected=sum(e['status'].startswith('protected') for e in images),
                    unchanged=sum(e['status'].startswith('clean') for e in images),
                    failed=len(failures)),
        failures=failures,
        # the numerical path(s) the generator ran on (see the module's reproducibility contract)
        numerics=dict(paths={k: paths.get(k) for k in used}, mixed=len(used) > 1),
        images=images)
    atomic_write(osp.join(dst, MANIFEST), json.dumps(manifest, indent=1, sort_keys=True).encode())
    return manifest


def check_image_file(path: str) -> None:
    """Raise ``ValueError`` if ``path`` is not a complete image file.

    OpenCV decodes a truncated JPEG with a grey fill and only a warning on stderr; publishing it
    would silently ship a damaged image. PIL decodes the whole file with truncated images refused.
    """
    from PIL import Image, ImageFile
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError('PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set in this process; the '
                           'tool cannot detect truncated images')
    try:
        with Image.open(path) as img:
            img.load()
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f'the image file is corrupt or truncated ({exc}); replace it with a '
                         f'complete copy or remove it from the split') from None


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
    if manifest is not None and opts.preview:
        # the first protected images by path, read back from disk: the same preview whatever
        # the shards, their order and interruptions
        chosen = [e['path'] for e in manifest['images']
                  if e['status'].startswith('protected')][:opts.preview]
        if chosen:
            write_preview([(mmcv.imread(osp.join(opts.src, rel), flag='color'),
                            mmcv.imread(osp.join(opts.dst, rel), flag='color'))
                           for rel in chosen], osp.join(opts.dst, PREVIEW))
    return dict(summary=summary, manifest=manifest)
