"""Crash-safe file writing and hashing shared by checkpoints and the offline tool."""
import hashlib
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def default_file_mode() -> int:
    """Permissions of a newly created file under the current umask (mkstemp makes 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
