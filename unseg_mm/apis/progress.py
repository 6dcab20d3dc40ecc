"""The offline tool's record of a run: per-shard progress files, the settings and numerical path
a destination was started with, and the manifest merged from the shards.

Layout under ``<dst>/.unseg_progress/``: ``settings.json`` (the protection settings, checked on
resume), ``numerics.json`` (the numerical path pinned by the first run), and per shard
``shard-KKKK-of-NNNN.jsonl`` (one JSON entry per finished item, appended, fsynced when the shard
ends; the latest entry of an item wins; a line cut by a kill is ignored and the item redone),
``.numerics.json`` (the paths it ran on) and ``.done.json`` (written when the shard finished).
"""
import hashlib
import json
import logging
import os
import os.path as osp
import platform
from enum import Enum
from typing import Dict, Optional, Sequence

from .fileio import atomic_write, file_sha256

MANIFEST = 'unseg_manifest.json'
PROGRESS_DIR = '.unseg_progress'
SETTINGS = 'settings.json'
NUMERICS = 'numerics.json'
MANIFEST_FORMAT = 'unseg_mm.protect_dataset/v1'
# Settings that may change between a run and its resumption without changing any pixel (a moved
# source is checked image by image through its SHA-256). The batch size is checked with the rest
# of the numerical path (see numerical_path).
RESUME_FREE_SETTINGS = ('device', 'shard_id', 'src', 'batch_size')
logger = logging.getLogger('unseg_mm.protect_dataset')


class Status(str, Enum):
    """What happened to one training image (the ``status`` of its manifest entry)."""
    PROTECTED = 'protected'
    CLEAN_MIX = 'clean (mix)'  # left clean: the mixed-in clean share (--mix-clean-ratio)
    CLEAN_NO_OBJECTS = 'clean (no objects)'  # left clean: nothing to protect in it
    FAILED = 'failed'  # bad input: nothing published for it

    @property
    def published_clean(self) -> bool:
        return self in (Status.CLEAN_MIX, Status.CLEAN_NO_OBJECTS)


def shard_file(dst: str, shard_id: int, num_shards: int) -> str:
    return osp.join(dst, PROGRESS_DIR, f'shard-{shard_id:04d}-of-{num_shards:04d}.jsonl')


def read_records(path: str) -> Dict[str, dict]:
    """The entries of one progress file by item path (the latest entry of an item wins)."""
    entries = {}
    if not osp.isfile(path):
        return entries
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill; the item is simply redone
            entries[entry['path']] = entry
    return entries


def append_records(path: str, entries: Sequence[dict]) -> None:
    """Append entries to a progress file in one write (one line each), without fsync.

    The tool syncs the file once when the shard ends (:func:`.fileio.sync_file`): a record saves
    work, it is never trusted alone (``is_done`` re-hashes the source and the written file), so
    one lost to a power cut costs only its recomputation, while an fsync per batch would keep
    the generator waiting on the disk.
    """
    os.makedirs(osp.dirname(path), exist_ok=True)
    text = ''.join(json.dumps(entry, sort_keys=True) + '\n' for entry in entries)
    with open(path, 'ab+') as f:
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b'\n':
                # the last line was cut by a kill: end it, so that it stays one unreadable
                # line (ignored) instead of swallowing the first new entry
                text = '\n' + text
        f.write(text.encode())


def is_done(entry: Optional[dict], src_path: str, dst_path: str) -> bool:
    """Whether a recorded item is finished: not failed, and both its source and its written file
    still have the recorded SHA-256."""
    if entry is None or entry.get('status') == Status.FAILED.value:
        return False
    return (osp.isfile(dst_path) and entry.get('src_sha256') == file_sha256(src_path)
            and entry.get('out_sha256') == file_sha256(dst_path))


def complete_manifest(dst: str) -> Optional[dict]:
    """The manifest of ``dst`` if it is a finished protected copy (its manifest says complete),
    else None (no manifest yet, or an interrupted or failed run's)."""
    path = osp.join(dst, MANIFEST)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        manifest = json.load(f)
    return manifest if manifest.get('complete') else None


def write_shard_summary(shard: str, summary: dict) -> None:
    """Mark a shard finished (the manifest is merged once every shard has this file)."""
    atomic_write(shard.replace('.jsonl', '.done.json'),
                 json.dumps(summary, sort_keys=True).encode())


def check_same_settings(dst: str, settings: dict) -> None:
    """A resumed run must use the settings the destination was started with: otherwise finished
    images would silently mix two protections. The first run records them."""
    path = osp.join(dst, PROGRESS_DIR, SETTINGS)
    mine = {k: v for k, v in settings.items() if k not in RESUME_FREE_SETTINGS}
    if osp.isfile(path):
        with open(path) as f:
            started = {k: v for k, v in json.load(f).items() if k not in RESUME_FREE_SETTINGS}
        changed = sorted(k for k in set(started) | set(mine) if started.get(k) != mine.get(k))
        if changed:
            raise ValueError(
                f'{dst} was started with other settings ('
                + ', '.join(f'{k}: {started.get(k)!r} -> {mine.get(k)!r}' for k in changed)
                + '); resume with the same settings, or choose a new --dst')
    else:
        os.makedirs(osp.dirname(path), exist_ok=True)
        atomic_write(path, json.dumps(mine, indent=1, sort_keys=True).encode())


def cpu_isa_flags() -> Optional[list]:
    """The vector / matrix ISA extensions of this CPU, sorted (None where unknown).

    torch's ``get_cpu_capability()`` says only 'AVX512' on a host whose AMX / AVX512-FP16 units
    oneDNN also uses; measured: the same model, torch, capability and thread count gave values
    ~1e-6 apart on two such hosts, so the extensions are part of the numerical path.
    """
    try:
        with open('/proc/cpuinfo') as f:
            line = next(row for row in f if row.startswith(('flags', 'Features')))
    except (OSError, StopIteration):
        return None
    return sorted(flag for flag in line.split(':', 1)[1].split()
                  if flag.startswith(('avx512', 'amx', 'avx_vnni', 'sve', 'sme')))


# Fields added to the numerical path after destinations were pinned without them: a destination
# pinned before a field existed is compared without it (its images' path is unknown there).
LATE_PATH_FIELDS = ('cpu_isa', )


def numerical_path(cfg, num_threads: int) -> dict:
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
                    cpu_isa=cpu_isa_flags(), num_threads=int(num_threads))
    return path


def numerics_id(path: dict) -> str:
    """Short stable name of a numerical path (recorded with every protected image)."""
    return hashlib.sha256(json.dumps(path, sort_keys=True).encode()).hexdigest()[:12]


def pin_numerics(dst: str, shard: str, cfg, num_threads: Optional[int],
                 allow_mixed: bool) -> dict:
    """This run's numerical path, checked against the one the destination was started with.

    The first run of a destination records its path (created exclusively, so concurrent shards
    agree on one); later runs adopt its thread count unless ``num_threads`` is given, and refuse
    a different path unless ``allow_mixed``. The shard records the paths it used.
    """
    import torch
    path = osp.join(dst, PROGRESS_DIR, NUMERICS)
    pinned = None
    if osp.isfile(path):
        with open(path) as f:
            pinned = json.load(f)
    threads = num_threads
    if threads is None:
        threads = (pinned or {}).get('num_threads') or torch.get_num_threads()
    mine = numerical_path(cfg, threads)
    if pinned is None:
        os.makedirs(osp.dirname(path), exist_ok=True)
        tmp = f'{path}.{os.getpid()}.partial'
        with open(tmp, 'w') as f:
            json.dump(mine, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic and exclusive: the first shard to start wins
        except FileExistsError:  # another shard started at the same moment: compare with it
            return pin_numerics(dst, shard, cfg, num_threads, allow_mixed)
        finally:
            os.remove(tmp)
        pinned = mine
    mine = {k: v for k, v in mine.items() if k in pinned or k not in LATE_PATH_FIELDS}
    if mine != pinned:
        changed = sorted(k for k in set(pinned) | set(mine) if pinned.get(k) != mine.get(k))
        detail = ', '.join(f'{k}: {pinned.get(k)!r} -> {mine.get(k)!r}' for k in changed)
        if not allow_mixed:
            raise ValueError(
                f'{dst} was started on another numerical path ({detail}); its '
                f'images could differ from the rest by a grey level where a value sits on a '
                f'rounding boundary. Run with the same settings (e.g. --num-threads '
                f'{pinned.get("num_threads")}, --batch-size {pinned.get("batch_size")}, same '
                f'torch and device), or pass --allow-mixed-numerics to go on and record each '
                f"image's path in the manifest, or choose a new --dst")
        logger.warning(f'numerical path differs from the one {dst} was started with '
                       f'({detail}); going on (--allow-mixed-numerics), recorded per image')
    # the paths this shard used, by id, for the manifest (only this shard writes the file)
    record = shard.replace('.jsonl', '.numerics.json')
    used = {}
    if osp.isfile(record):
        with open(record) as f:
            used = json.load(f)
    if numerics_id(mine) not in used:
        used[numerics_id(mine)] = mine
        atomic_write(record, json.dumps(used, indent=1, sort_keys=True).encode())
    return mine


def merge_manifest(dst: str, settings: dict) -> Optional[dict]:
    """Merge the shard records into ``<dst>/unseg_manifest.json`` once every shard has finished.

    Returns the manifest, or None while shards are still running.
    """
    progress = osp.join(dst, PROGRESS_DIR)
    if not osp.isdir(progress):
        return None
    shards = sorted(f for f in os.listdir(progress) if f.endswith('.jsonl'))
    done = [f for f in os.listdir(progress) if f.endswith('.done.json')]
    if len(done) < settings['num_shards']:
        return None
    entries = {}
    for name in shards:
        entries.update(read_records(osp.join(progress, name)))
    images = [entries[k] for k in sorted(entries)]
    statuses = [Status(e['status']) for e in images]
    failures = [e for e, s in zip(images, statuses) if s is Status.FAILED]
    paths = {}
    for name in os.listdir(progress):
        if name.endswith('.numerics.json'):
            with open(osp.join(progress, name)) as f:
                paths.update(json.load(f))
    used = sorted({e['numerics'] for e in images if 'numerics' in e})
    manifest = dict(
        format=MANIFEST_FORMAT,
        settings=settings,
        complete=not failures,
        counts=dict(images=len(images),
                    protected=sum(s is Status.PROTECTED for s in statuses),
                    unchanged=sum(s.published_clean for s in statuses),
                    failed=len(failures)),
        failures=failures,
        # the numerical path(s) the generator ran on (see the tool's reproducibility contract)
        numerics=dict(paths={k: paths.get(k) for k in used}, mixed=len(used) > 1),
        images=images)
    atomic_write(osp.join(dst, MANIFEST), json.dumps(manifest, indent=1, sort_keys=True).encode())
    return manifest
