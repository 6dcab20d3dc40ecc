"""Crash-safe file writing, hashing and weight-file reading shared by checkpoints, models and the
offline tool. A leaf module: it imports nothing from unseg_mm, so models can use it too."""
import hashlib
import os
import os.path as osp
import pickle
import shutil
import secrets
from contextlib import contextmanager
from typing import Dict, Iterator, Tuple

import torch


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _create_temp(folder: str) -> Tuple[int, str]:
    """A new empty file beside the final one: (open write descriptor, path).

    Created with mode 0666, so the kernel applies the process umask exactly as for any new file
    (``tempfile.mkstemp`` makes 0600, which renaming would publish); the umask is never read or
    swapped, so writer threads cannot race on it. '.partial', never the final extension: dataset
    classes that scan folders for *.jpg / *.png must not pick up an unfinished file (and
    torch.save needs some extension).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0)
    for _ in range(100):
        tmp = osp.join(folder, f'.tmp_{secrets.token_hex(6)}.partial')
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f'no free temporary file name in {folder}')


@contextmanager
def _atomic_target(path: str) -> Iterator[Tuple[int, str]]:
    """(descriptor, temporary path) beside ``path``, renamed to ``path`` when the block succeeds;
    the descriptor is closed on the way out. A crash or exception inside the block never leaves a
    file under the final name."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = _create_temp(folder)
    try:
        try:
            yield fd, tmp
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed to ``path``.

    A crash or exception inside the block never leaves a file under the final name.
    """
    with _atomic_target(path) as (_, tmp):
        yield tmp


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` durably under a temporary name beside ``path``, then rename it into place."""
    with _atomic_target(path) as (fd, _):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)


def sync_file(path: str) -> None:
    """fsync ``path`` (e.g. a progress file's appended records, before its shard is marked done)."""
    if osp.isfile(path):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_copy(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst`` through a temporary name (never a half-copied ``dst``)."""
    with atomic_output(dst) as tmp:
        shutil.copyfile(src, tmp)


def copy_unless_identical(src: str, dst: str) -> bool:
    """Copy ``src`` to ``dst`` atomically unless ``dst`` already has the same bytes (size, then
    SHA-256); returns whether it copied. What a resumed copy of a tree skips."""
    if osp.isfile(dst) and osp.getsize(dst) == osp.getsize(src) and \
            file_sha256(dst) == file_sha256(src):
        return False
    atomic_copy(src, dst)
    return True


def check_source_and_destination(src: str, dst: str) -> None:
    """Raise ``ValueError`` if ``dst`` is ``src`` or inside it: tools that write a copy of a
    dataset tree never modify their source."""
    src_abs, dst_abs = osp.realpath(src), osp.realpath(dst)
    if src_abs == dst_abs or dst_abs.startswith(src_abs + os.sep):
        raise ValueError(f'destination {dst!r} must not be the source or inside it ({src!r}); '
                         f'the source is never modified')


def load_state_dict_file(path: str) -> Dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, never executing pickled code.

    ``.safetensors`` files are read with safetensors; anything else with
    ``torch.load(weights_only=True)``. A ``state_dict`` / ``model`` wrapper is unwrapped.
    """
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path, device='cpu')
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ValueError(f'cannot read checkpoint {path!r} as plain tensors ({exc}); convert it '
                         f'to a state_dict of tensors or to .safetensors') from exc
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ValueError(f'checkpoint {path!r} holds a {type(obj).__name__}, not a state_dict')
    return obj
