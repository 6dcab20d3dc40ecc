"""Crash-safe file writing, hashing and weight-file reading shared by checkpoints, models and the
offline tool. A leaf module: it imports nothing from unseg_mm, so models can use it too."""
import hashlib
import os
import os.path as osp
import pickle
import shutil
import tempfile
import threading
from contextlib import contextmanager
from typing import Dict, Iterator

import torch


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it: from ``/proc`` where the kernel shows it
    (Linux). Elsewhere it can only be read by setting another one and back; that is done under a
    lock (the tool writes from several threads: two unlocked swaps can interleave and leave the
    process umask at the swapped-in value) and swaps in 0o077, so that a file another thread
    creates in that instant is private rather than open to everyone."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        umask = os.umask(0o077)
        os.umask(umask)
    return umask


def default_file_mode() -> int:
    """Permissions of a newly created file under the current umask (mkstemp makes 0600)."""
    return 0o666 & ~current_umask()


@contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed to ``path``.

    A crash or exception inside the block never leaves a file under the final name.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # '.partial', never the final extension: dataset classes that scan folders for *.jpg / *.png
    # must not pick up an unfinished file (and torch.save needs some extension).
    fd, tmp = tempfile.mkstemp(prefix='.tmp_', suffix='.partial', dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` durably under a temporary name beside ``path``, then rename it into place."""
    with atomic_output(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


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
