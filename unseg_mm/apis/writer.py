"""The offline tool's output side: encoding a published image (lossless PNG data by default, JPEG
on request), checking that the bytes decode to what was computed, and the preview grid."""
from typing import Optional

import cv2
import mmcv
import numpy as np

from .fileio import atomic_write

PREVIEW = 'unseg_preview.png'


def encode_image(image: np.ndarray, jpeg_quality: Optional[int] = None) -> bytes:
    """uint8 BGR image -> file bytes: PNG (lossless) or, with ``jpeg_quality``, JPEG."""
    if jpeg_quality is not None:
        ok, buf = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    else:
        ok, buf = cv2.imencode('.png', image)
    if not ok:
        raise RuntimeError('image encoding failed')
    return buf.tobytes()


def check_lossless(data: bytes, image: np.ndarray) -> None:
    """Raise unless ``data`` decodes to exactly ``image`` (the tool checks what it writes)."""
    decoded = mmcv.imfrombytes(data, flag='color')
    if not np.array_equal(decoded, image):
        raise RuntimeError('the encoded image does not decode to the protected one')


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
