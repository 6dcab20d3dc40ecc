"""Defences a model trainer can apply to (possibly protected) training images, as transforms.

Each changes ``results['img']`` only (never the labels) and belongs right after the loading and
protection steps, before resize/crop/flip, as in ISS (Liu et al., ICML 2023), which applies its
squeezing before random crops. :func:`unseg_mm.apis.config_utils.with_defence` puts it there.

Hyper-parameter sources (see the team notes on baselines and defences):

* JPEG re-compression: quality 10 is ISS-J's and APBench's default; benchmarks sweep 10-90.
* Grayscale (ISS-G): ITU-R 601-2 luma replicated to three channels, as torchvision's
  ``Grayscale(3)``.
* Bit-depth reduction: keep the ``bits`` most significant bits (``RandomPosterize(bits, p=1)``);
  APBench uses 2.
* Median filter: kernel 3 (ISS's ``MedianFilter``).
* Gaussian filter: ISS's 3 x 3 kernel with sigma 0.1 is numerically the identity, so the default
  here is kernel 5, sigma 1.0.

Images are uint8 in the loaded channel order (BGR from mmcv); float images are rejected, because
the defences model what a trainer does to the published files.
"""
from abc import abstractmethod

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS


def _uint8_image(results: dict) -> np.ndarray:
    img = results['img']
    if img.dtype != np.uint8:
        raise ValueError(f'{results.get("img_path")}: defences act on the image as loaded (uint8); '
                         f'got {img.dtype} - place the defence before any normalisation')
    return img


class ImageDefence(BaseTransform):
    """A defence that maps a uint8 H x W x 3 image to another one (grey images pass as 3-channel).
    """

    @abstractmethod
    def squeeze(self, img: np.ndarray) -> np.ndarray:
        """The defended image, uint8 H x W x 3."""

    def transform(self, results: dict) -> dict:
        img = _uint8_image(results)
        gray_input = img.ndim == 2
        out = self.squeeze(img if not gray_input else img[..., None].repeat(3, axis=2))
        results['img'] = out[..., 0] if gray_input else out
        return results


@TRANSFORMS.register_module()
class JPEGCompression(ImageDefence):
    """Re-encode the image as JPEG at ``quality`` (1-100; ISS-J uses 10) and decode it."""

    def __init__(self, quality: int = 10) -> None:
        if not 1 <= int(quality) <= 100:
            raise ValueError(f'JPEG quality must be in [1, 100], got {quality}')
        self.quality = int(quality)

    def squeeze(self, img):
        ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError('JPEG encoding failed')
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)

    def __repr__(self):
        return f'{self.__class__.__name__}(quality={self.quality})'


@TRANSFORMS.register_module()
class GrayscaleDefence(ImageDefence):
    """ISS-G: replace the colour image by its luma (0.299 R + 0.587 G + 0.114 B) in all three
    channels. ``channel_order`` is that of the loaded image (mmcv loads BGR)."""

    def __init__(self, channel_order: str = 'bgr') -> None:
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        self.channel_order = channel_order

    def squeeze(self, img):
        code = cv2.COLOR_BGR2GRAY if self.channel_order == 'bgr' else cv2.COLOR_RGB2GRAY
        gray = cv2.cvtColor(img, code)
        return np.repeat(gray[..., None], 3, axis=2)

    def __repr__(self):
        return f'{self.__class__.__name__}(channel_order={self.channel_order!r})'


@TRANSFORMS.register_module()
class BitDepthReduction(ImageDefence):
    """Keep the ``bits`` most significant bits of every value (posterize; APBench uses 2)."""

    def __init__(self, bits: int = 2) -> None:
        if not 1 <= int(bits) <= 8:
            raise ValueError(f'bits must be in [1, 8], got {bits}')
        self.bits = int(bits)

    def squeeze(self, img):
        return img & np.uint8((0xFF << (8 - self.bits)) & 0xFF)

    def __repr__(self):
        return f'{self.__class__.__name__}(bits={self.bits})'


@TRANSFORMS.register_module()
class MedianFilter(ImageDefence):
    """Median filter with an odd ``kernel`` (ISS uses 3)."""

    def __init__(self, kernel: int = 3) -> None:
        if int(kernel) < 3 or int(kernel) % 2 == 0:
            raise ValueError(f'median kernel must be odd and >= 3, got {kernel}')
        self.kernel = int(kernel)

    def squeeze(self, img):
        return cv2.medianBlur(np.ascontiguousarray(img), self.kernel)

    def __repr__(self):
        return f'{self.__class__.__name__}(kernel={self.kernel})'


@TRANSFORMS.register_module()
class GaussianFilter(ImageDefence):
    """Gaussian blur with an odd ``kernel`` and standard deviation ``sigma`` (pixels)."""

    def __init__(self, kernel: int = 5, sigma: float = 1.0) -> None:
        if int(kernel) < 3 or int(kernel) % 2 == 0:
            raise ValueError(f'Gaussian kernel must be odd and >= 3, got {kernel}')
        if sigma <= 0:
            raise ValueError(f'sigma must be > 0, got {sigma}')
        self.kernel = int(kernel)
        self.sigma = float(sigma)

    def squeeze(self, img):
        return cv2.GaussianBlur(img, (self.kernel, self.kernel), self.sigma,
                                borderType=cv2.BORDER_REFLECT_101)

    def __repr__(self):
        return f'{self.__class__.__name__}(kernel={self.kernel}, sigma={self.sigma})'
