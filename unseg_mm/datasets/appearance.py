"""Natural appearance for the synthetic scenes: ONE distribution for every region.

Every region of a "natural" scene (each object, each background band, each piece of clutter)
draws its look from :func:`sample_appearance`, whatever its category. So colour, brightness and
texture say nothing about the class; only shape (objects) and layout (background bands) do, as on
photos, where a cat may be any colour and a wall any texture.

The statistics are those of natural images:
* textures are 1/f^alpha ("pink") noise fields, alpha drawn per region around 1 (the amplitude
  spectrum of photos), sometimes stretched along one direction (grain, fibres), with a colour
  component smaller than the luminance one;
* mean colours are mostly desaturated (a luminance plus a small chroma offset), as in photos;
* each region has its own smooth shading ramp, the whole frame a low-frequency illumination field
  and a white-balance cast;
* region borders are soft (each layer's alpha is a blurred copy of its polygon mask, one blur per
  scene: its "focus"), the background can be defocused (depth of field) and hazed (atmospheric
  perspective), then a little sensor noise; the dataset writers add the source encoding
  (JPEG for VOC/ADE20K/COCO, PNG for Cityscapes, as the real datasets ship).

Pixel units: grey levels 0-255 throughout.
"""
import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np

# One colour "direction" basis orthogonal to grey (1, 1, 1): chroma offsets live in this plane.
_CHROMA_BASIS = np.array([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0]], np.float64)
_CHROMA_BASIS /= np.linalg.norm(_CHROMA_BASIS, axis=1, keepdims=True)


@dataclass(frozen=True)
class Appearance:
    """The look of one region.

    Attributes:
        mean: mean RGB colour, grey levels 0-255.
        contrast: standard deviation of the luminance texture, grey levels.
        alpha: spectral exponent of the texture (amplitude ~ 1 / f^alpha).
        stretch: anisotropy of the texture (1 = isotropic) along ``angle``.
        angle: direction of the stretch, radians.
        chroma: colour share of the texture (its colour std = ``chroma * contrast``).
        ramp: shading, grey levels of brightness change across the frame, as (x, y).
    """
    mean: Tuple[float, float, float]
    contrast: float
    alpha: float
    stretch: float
    angle: float
    chroma: float
    ramp: Tuple[float, float]


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """Draw one region's look from the distribution shared by every category."""
    luminance = rng.uniform(35, 215)
    chroma_offset = _CHROMA_BASIS.T @ rng.normal(0, 22, 2)
    mean = np.clip(luminance + chroma_offset, 0, 255)
    stretch = 1.0 if rng.random() < 0.6 else rng.uniform(1.5, 4.0)
    ramp = rng.normal(0, 14, 2)
    return Appearance(mean=tuple(float(v) for v in mean),
                      contrast=float(rng.uniform(4, 26)), alpha=float(rng.uniform(0.8, 1.5)),
                      stretch=float(stretch), angle=float(rng.uniform(0, math.pi)),
                      chroma=float(rng.uniform(0.1, 0.5)),
                      ramp=(float(ramp[0]), float(ramp[1])))


def pink_noise(rng: np.random.Generator, height: int, width: int, alpha: float = 1.0,
               stretch: float = 1.0, angle: float = 0.0) -> np.ndarray:
    """Zero-mean, unit-std noise field (float32, H x W) with amplitude spectrum 1 / f^alpha.

    ``stretch`` > 1 squeezes the spectrum along ``angle``, i.e. elongates the texture across it.
    """
    white = rng.standard_normal((height, width))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    u = fx * math.cos(angle) + fy * math.sin(angle)
    v = -fx * math.sin(angle) + fy * math.cos(angle)
    radius = np.sqrt((u * stretch) ** 2 + (v / stretch) ** 2)
    radius[0, 0] = 1.0
    spectrum = np.fft.rfft2(white) * radius ** -alpha
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(height, width))
    std = field.std()
    return (field / std if std > 0 else field).astype(np.float32)


def paint(appearance: Appearance, rng: np.random.Generator, height: int,
          width: int) -> np.ndarray:
    """The region's texture over the whole frame (float32 H x W x 3, grey levels, unclipped)."""
    a = appearance
    luminance = pink_noise(rng, height, width, a.alpha, a.stretch, a.angle) * a.contrast
    colour = pink_noise(rng, height, width, a.alpha) * (a.chroma * a.contrast)
    direction = _CHROMA_BASIS.T @ rng.normal(0, 1, 2)
    direction /= max(np.linalg.norm(direction), 1e-6)
    yy = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    xx = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    shading = a.ramp[0] * xx + a.ramp[1] * yy
    grey = luminance + shading
    return (np.asarray(a.mean, np.float32) + grey[..., None]
            + colour[..., None] * direction.astype(np.float32))


def soft_alpha(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A soft-edged (blurred) copy of a binary mask, float32 in [0, 1]."""
    import cv2
    alpha = mask.astype(np.float32)
    if sigma <= 0:
        return alpha
    return cv2.GaussianBlur(alpha, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)


def defocus(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an H x W x 3 float image (out-of-focus depth), ``sigma`` in pixels."""
    import cv2
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def haze(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Atmospheric perspective: blend a far region towards a light, slightly tinted haze colour
    (a fraction of 0.25-0.55), which lowers its contrast and saturation."""
    amount = rng.uniform(0.25, 0.55)
    colour = np.clip(rng.uniform(150, 215) + _CHROMA_BASIS.T @ rng.normal(0, 8, 2), 0, 255)
    return image * (1 - amount) + colour.astype(np.float32) * amount


def finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scene-wide illumination, white balance and sensor noise; returns uint8 RGB."""
    h, w = image.shape[:2]
    illumination = 1.0 + 0.12 * pink_noise(rng, h, w, alpha=2.5)
    white_balance = rng.normal(1.0, 0.04, 3).astype(np.float32)
    gain = rng.uniform(0.85, 1.15)
    noise = rng.normal(0, rng.uniform(0.5, 2.5), image.shape)
    out = image * (gain * illumination)[..., None] * white_balance + noise
    return np.clip(out, 0, 255).round().astype(np.uint8)
