"""Class-wise availability-attack baselines adapted to segmentation: SynPer, AR and CUDA; and the
two calibration controls of the benchmarks: Grating (a shortcut that must work) and Uniform
(noise that must do nothing).

Adaptation (as the UnSeg rebuttal describes): each class's perturbation is applied inside that
class's region; background pixels (and void) get a background "class" of their own. Like UnSeg,
every method takes the objects of :class:`~unseg_mm.apis.protect.ImagePrompts` (with their class
labels), leaves object-free images and ``keep_clean`` pixels untouched, and returns
:class:`~unseg_mm.apis.protect.ProtectResult`. Class-wise parameters depend on ``seed`` and the
class id only; per-image randomness on ``seed`` and the image key, so results are reproducible
and identical offline and online.
"""
from abc import ABC, abstractmethod
from typing import List, Sequence

import numpy as np

from .protect import ImagePrompts, ProtectResult, image_seed
from .publish import publish

BACKGROUND = -1


def _class_rng(seed: int, label: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, salt, label + 1])


class _Additive(ABC):
    """Composite of per-class additive patterns: object k gets its class pattern at
    ``eps_object``, the rest of the image the background pattern at ``eps_background``."""

    def __init__(self, eps_object: float = 8 / 255, eps_background: float = 2 / 255,
                 seed: int = 0) -> None:
        self.eps_object = eps_object
        self.eps_background = eps_background
        self.seed = seed

    @abstractmethod
    def pattern(self, label: int, shape, rng: np.random.Generator) -> np.ndarray:
        """H x W x 3 pattern for ``label`` (BACKGROUND for the background), in units of the
        region's budget."""

    def __call__(self, images: Sequence[np.ndarray], prompts: Sequence[ImagePrompts],
                 keys: Sequence[str], channel_order: str = 'bgr') -> List[ProtectResult]:
        """Patterns are drawn in RGB; ``channel_order`` is that of ``images``."""
        results = []
        for image, prompt, key in zip(images, prompts, keys):
            if not prompt.objects:
                results.append(ProtectResult(image.copy(), 0, 0, 0))
                continue
            rng = np.random.default_rng(image_seed(self.seed, key))
            shape = image.shape[:2]
            delta = 255 * self.eps_background * self.pattern(BACKGROUND, shape, rng)
            for i, obj in enumerate(prompt.objects):
                obj = obj.astype(bool)
                pattern = self.pattern(prompt.label_of(i), shape, rng)
                delta[obj] = 255 * self.eps_object * pattern[obj]
            if channel_order == 'bgr':
                delta = delta[..., ::-1]
            results.append(publish(image, image.astype(np.float32) + delta, prompt))
        return results


class SynPer(_Additive):
    """Synthetic shortcut noise, class-wise (Yu et al., "Availability Attacks Create Shortcuts",
    KDD 2022; "LSP" in APBench / ISS).

    Each class owns a point of a well separated synthetic cluster: a ``grid`` x ``grid`` x 3
    vector of +-1 values (the paper draws ``make_classification`` clusters with class_sep 10, i.e.
    hypercube vertices); each image adds small within-class jitter (``spread``). The vector is
    upsampled by nearest neighbour into colour blocks covering the image (the paper's 8 px patches
    on 32 px CIFAR images are a 4 x 4 grid; 32 px patches on 224 px ImageNet a 7 x 7 grid; the
    default 8 x 8 keeps blocks at 1/8 of the image). Bounded in L-inf by the region budget rather
    than the paper's equivalent L2 norm, so it shares UnSeg's budgets.
    """

    def __init__(self, grid: int = 8, spread: float = 0.2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.grid = grid
        self.spread = spread

    def pattern(self, label, shape, rng):
        vertex = np.where(_class_rng(self.seed, label, 1).random((self.grid, self.grid, 3)) < 0.5,
                          -1.0, 1.0)
        cells = np.clip(vertex + rng.normal(0, self.spread, vertex.shape), -1, 1)
        h, w = shape
        rows = np.minimum(np.arange(h) * self.grid // h, self.grid - 1)
        cols = np.minimum(np.arange(w) * self.grid // w, self.grid - 1)
        return cells[rows][:, cols].astype(np.float32)


class Grating(_Additive):
    """Calibration shortcut: a square-wave grating per class (not a published attack).

    Each class owns a grating of its own orientation and per-channel phase (from the seed and the
    class id), the background another one; every pixel of a region moves by the full budget, +-.
    Such a pattern is locally recognisable by a single small filter and survives rescaling, so it
    is about as easy a class-wise shortcut as an L-inf budget allows. It answers a calibration
    question about a dataset and training pipeline: if a model trained on grating-protected data
    still scores like the clean one, no additive perturbation of that budget is likely to make
    the data unlearnable there. With ``classwise=False`` all objects share one grating: the
    object-versus-background information that a class-agnostic method (UnSeg with union
    prompts) can carry, at its easiest.

    Args:
        period: grating period in pixels of the published image.
        classwise: one grating per class (True) or one for all objects (False).
        grey: one phase for all three channels (a luma-only grating, no chroma: what JPEG at
            low quality and a grayscale defence keep) instead of one phase per channel.
    """

    def __init__(self, period: float = 6.0, classwise: bool = True, grey: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if period < 2:
            raise ValueError(f'period must be >= 2 pixels (the Nyquist limit), got {period}')
        self.period = period
        self.classwise = classwise
        self.grey = grey

    def pattern(self, label, shape, rng):
        if self.classwise or label == BACKGROUND:
            rng_of_region = _class_rng(self.seed, label, 4)
        else:  # one grating shared by all objects
            rng_of_region = _class_rng(self.seed, 0, 5)
        params = rng_of_region.uniform(0, 2 * np.pi, 4)
        angle, phases = params[0] / 2, params[1:]
        if self.grey:
            phases = np.full(3, phases[0])
        h, w = shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u = xx * np.cos(angle) + yy * np.sin(angle)
        wave = np.sin(2 * np.pi * u[..., None] / self.period + phases)
        return np.where(wave >= 0, 1.0, -1.0).astype(np.float32)


class Uniform(_Additive):
    """Calibration negative control: i.i.d. uniform noise of the budget (not a published attack).

    Every pixel and channel draws its own value in [-budget, +budget] (objects ``eps_object``,
    the rest ``eps_background``), fresh for every image (from the seed and the image key). With
    one budget everywhere (``eps_background == eps_object``) it carries no information about the
    label, so a model trained on it must score like the clean one: a benchmark where it does not
    measures the noise of its own training runs, not protection. With the region budgets (8/255
    objects, 2/255 elsewhere) its amplitude map is the union of the object masks: then it
    measures what the budget split alone gives away, the floor below which a mask-aligned method
    must get before its pattern is credited with anything.
    """

    def pattern(self, label, shape, rng):
        return rng.uniform(-1.0, 1.0, (*shape, 3)).astype(np.float32)


def ar_coefficients(rng: np.random.Generator, bound: float = 50.0, batch: int = 256,
                    tries: int = 20) -> np.ndarray:
    """3 x 3 x 3 AR coefficients (one 3 x 3 window per channel, the bottom-right entry 0, the other
    eight summing to 1), rejecting processes whose 32 x 32 patterns explode (L2 norm above
    ``bound``, the coefficient finder's ``gen_norm_upper_bound``). The finder's second test (new
    processes must respond to the already accepted ones' matched filters) is not applied: classes
    draw their processes independently, so one class's process does not depend on which other
    classes exist."""
    for _ in range(tries):
        b = rng.normal(size=(batch, 3, 3, 3))
        b[:, :, 2, 2] = 0
        b /= b.sum(axis=(2, 3), keepdims=True)
        with np.errstate(over='ignore', invalid='ignore'):  # exploding candidates overflow
            norms = np.linalg.norm(ar_field(b, 32, 32, rng).reshape(batch, -1), axis=1)
        stable = np.flatnonzero(np.isfinite(norms) & (norms <= bound))
        if stable.size:
            return b[stable[0]]
    raise RuntimeError('no stable autoregressive process found')


def ar_field(b: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Run the causal 2-D AR(8) recursion from a Gaussian start, cropping the 4-pixel warm-up.

    ``b`` is ... x 3 x 3 x 3 (any leading batch shape); returns ... x 3 x h x w. Every pixel
    (i, j) depends on pixels of earlier anti-diagonals only, so each anti-diagonal is computed at
    once (h + w vectorised steps instead of h * w).
    """
    s = rng.normal(size=b.shape[:-2] + (h + 4, w + 4))
    offsets = [(u - 2, v - 2) for u in range(3) for v in range(3) if (u, v) != (2, 2)]
    for t in range(4, h + w + 7):
        i = np.arange(max(2, t - (w + 3)), min(h + 3, t - 2) + 1)
        j = t - i
        acc = 0
        for du, dv in offsets:
            acc = acc + b[..., du + 2, dv + 2, None] * s[..., i + du, j + dv]
        s[..., i, j] = acc
    return s[..., 4:, 4:]


class AR(_Additive):
    """Autoregressive perturbations, class-wise (Sandoval-Segura et al., "Autoregressive
    Perturbations for Data Poisoning", NeurIPS 2022).

    Each class owns an AR process (3 x 3 x 3 coefficients); each image draws fresh patterns from
    its class's process. The paper's patterns are 32 x 32 x 3 with L2 norm ``eps2`` = 1. A single
    near-unit-root field over a whole segmentation image is dominated by the corner where it has
    grown most, so the image is tiled with independent 32 x 32 draws instead, each scaled to L2
    ``eps2`` inside objects (per-pixel RMS 1/sqrt(3072) = 4.6/255) and to ``eps2`` times
    ``eps_background / eps_object`` elsewhere: "AR at CIFAR strength" everywhere. The budget is
    L2 per tile, so single pixels may exceed the L-inf budgets, as in the paper; the manifest
    records the measured L-inf.
    """
    tile = 32

    def __init__(self, eps2: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.eps2 = eps2
        self._coefficients = {}

    def coefficients(self, label: int) -> np.ndarray:
        if label not in self._coefficients:
            self._coefficients[label] = ar_coefficients(_class_rng(self.seed, label, 2))
        return self._coefficients[label]

    def pattern(self, label, shape, rng):
        h, w = shape
        rows, cols = -(-h // self.tile), -(-w // self.tile)
        b = np.broadcast_to(self.coefficients(label), (rows, cols, 3, 3, 3))
        tiles = ar_field(b, self.tile, self.tile, rng)  # rows x cols x 3 x t x t
        tiles /= np.sqrt((tiles ** 2).sum(axis=(2, 3, 4), keepdims=True)) + 1e-12
        field = tiles.transpose(0, 3, 1, 4, 2).reshape(rows * self.tile, cols * self.tile, 3)
        # In units of the object budget (the caller multiplies by 255 * eps of the region).
        return (field[:h, :w] * self.eps2 / self.eps_object).astype(np.float32)


class CUDA:
    """Convolution-based unlearnable data, class-wise (Sadasivan et al., CVPR 2023).

    Each class owns a ``kernel`` x ``kernel`` filter with entries U(0, ``blur``) and one randomly
    placed entry set to 1, shared by the three channels; the class's pixels are replaced by the
    filtered image divided by its maximum (defaults 3 and 0.3, the values of the UnSeg rebuttal
    and the paper's CIFAR setting). Multiplicative, so no L-inf budget applies.
    """

    def __init__(self, kernel: int = 3, blur: float = 0.3, seed: int = 0) -> None:
        self.kernel = kernel
        self.blur = blur
        self.seed = seed

    def filter(self, label: int) -> np.ndarray:
        rng = _class_rng(self.seed, label, 3)
        w = rng.uniform(0, self.blur, (self.kernel, self.kernel))
        w.flat[rng.integers(w.size)] = 1.0
        return w.astype(np.float32)

    def filtered(self, image: np.ndarray, label: int) -> np.ndarray:
        import cv2
        x = image.astype(np.float32) / 255.0
        # filter2D correlates; flip the kernel for a true convolution
        y = cv2.filter2D(x, -1, self.filter(label)[::-1, ::-1].copy(),
                         borderType=cv2.BORDER_CONSTANT)
        return 255.0 * y / max(float(y.max()), 1e-12)

    def __call__(self, images: Sequence[np.ndarray], prompts: Sequence[ImagePrompts],
                 keys: Sequence[str], channel_order: str = 'bgr') -> List[ProtectResult]:
        """The filters act on all channels alike, so ``channel_order`` does not matter."""
        results = []
        for image, prompt in zip(images, prompts):
            if not prompt.objects:
                results.append(ProtectResult(image.copy(), 0, 0, 0))
                continue
            out = self.filtered(image, BACKGROUND)
            for i, obj in enumerate(prompt.objects):
                obj = obj.astype(bool)
                out[obj] = self.filtered(image, prompt.label_of(i))[obj]
            results.append(publish(image, out, prompt))
        return results
