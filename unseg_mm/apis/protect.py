"""protect(): image + object prompts -> published uint8 image. The one core behind the offline
tool (``tools/protect_dataset.py``) and the ``UnSegProtect`` dataset transform.

Data flow: object masks (from the dataset's annotations) -> prompts (mask / box / points of each
object, or of their union) -> one generator forward pass at the generator's square frame ->
pattern in [-1, 1] -> upsampled to the image -> scaled by ``eps_object`` inside the objects and
``eps_background`` elsewhere -> added to the uint8 image, rounded, clipped to [0, 255].

Budgets are in [0, 1] intensity units (8/255 = eight grey levels of a uint8 image); since the
image is integer, rounding keeps ``|published - original| <= round(255 * eps)`` pixel-wise.
"""
import functools
import hashlib
import itertools
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..models.generator import UnSegGenerator, checked_pattern_window
from ..models.prompts import Prompts, masks_to_boxes, sample_points
from ..structures import ImagePrompts, ProtectResult  # noqa: F401  (re-exported)
from .publish import object_union, publish, region_linf

PROMPT_TYPES = ('mask', 'box', 'point')
MULTI_OBJECT_RULES = ('union', 'per_object')
PARITY_MODES = ('default', 'reference')
PATTERN_UPSAMPLING = ('bilinear', 'nearest')
# ProtectConfig fields recorded (in manifests and benchmark cells) only where they differ from
# these defaults, so that records made before each existed keep their contents and digests.
RECORDED_WHERE_SET = dict(class_keyed=False, pattern_upsample='bilinear', pattern_window=None)
# The official UnSeg code (github.com/sunye23/UnSeg, commit 4661a36) that parity='reference'
# reproduces step by step (tests/test_reference_parity.py checks it on a golden fixture).
REFERENCE_COMMIT = '4661a36'


@dataclass
class ProtectConfig:
    """Settings of :func:`protect`.

    Attributes:
        eps_object: L-inf budget inside prompted objects ([0, 1] units; default 8/255, what the
            reference's released generation scripts used).
        eps_background: L-inf budget elsewhere (default None: ``eps_object``, one budget on
            every pixel). The reference's released scripts used 2/255; in our measurements that
            split budget is what leaves the generators' marks unlearned (README, "Generators"),
            so it is an option (``eps_background=2 / 255``), not the default.
        prompt_type: what the generator is prompted with: ``mask``, ``box`` or ``point``.
        multi_object: ``union`` (one prompt for the union of all objects, as the reference does)
            or ``per_object`` (one forward pass per object; inside object k its own pattern,
            outside all objects the mean of the objects' patterns).
        num_points: points per object for ``point`` prompts.
        seed: base seed of point sampling (combined with each image's key).
        device: torch device of the generator.
        dtype: ``float32`` or ``bfloat16`` for the generator forward (autocast).
        batch_size: generator forward passes per batch.
        class_keyed: give every class its own variant of the generator's pattern (default
            False: every object alike, as the reference does). The objects of each class are
            prompted together, one forward pass per class present, with the image and the prompt
            turned by one of the 8 symmetries of the square and the pattern turned back, its
            colour channels permuted and their signs flipped: one of 384 variants, the class's
            own (:func:`class_key`: a permutation drawn from ``seed``, indexed by the class id,
            so up to 384 classes never share one). Inside each class the class's pattern,
            elsewhere the pattern of the union prompt; budgets as without it. The generator is
            unchanged and still class-agnostic; the keying gives a target's classes distinct
            patterns, what the class-wise shortcuts (AR, the grating) carry and a union prompt
            cannot. Objects without a class id (-1) keep the union's pattern.
        pattern_upsample: how the generator's pattern (a quarter of the frame's side) is brought
            to the image: ``bilinear`` (default, as the reference does) or ``nearest``. A pattern
            whose sign flips from one of its pixels to the next (a texture at its grid's
            Nyquist rate, as the bundled generator's tiles are) comes out of bilinear
            upsampling as ramps that use about 5.5 of 8 grey levels on average; ``nearest``
            keeps every pixel at the pattern's value (a square wave, as the grating is).
        pattern_window: None (default: the generator's own, ``UnSegGenerator.pattern_window``
            from its checkpoint: the side of the scenes it was trained on, where it states one;
            the bundled generator's is 160; without one, and for box or point prompts or
            ``parity='reference'``, the whole image), 0 (the whole image, padded to a square, is
            one frame, as the reference) or the side, in image pixels, of the square windows
            the generator sees: the image is covered by as few windows as fit (overlapping
            evenly, each padded with black to the full side where the image is smaller), one
            forward pass per window, and every pixel takes the pattern of the window whose
            centre is nearest. The pattern's scale in the published image is then fixed (side /
            the pattern's side pixels per pattern pixel) instead of growing with the image: a
            1024 px frame's pattern on a 2048 x 1024 photo is 8 px per pattern pixel, with 1024
            px windows 4. An image whose longer side is the window's is one window, the same as
            the whole image as one frame. Explicit windows need mask prompts (a window without
            objects is prompted with an empty mask).
        parity: ``default`` (our pipeline: prompt mask resized bilinearly, budget region = the
            full-resolution object mask) or ``reference`` (the official generation script step by
            step: image resized before scaling to [0, 1]; label zero-padded and resized to the
            frame nearest-neighbour; budget region = the 256 x 256 prompt mask upsampled back to
            the image, bilinear + round; its float arithmetic; mask prompts of the union only).
    """
    eps_object: float = 8 / 255
    eps_background: Optional[float] = None
    prompt_type: str = 'mask'
    multi_object: str = 'union'
    num_points: int = 10
    seed: int = 0
    device: str = 'cpu'
    dtype: str = 'float32'
    batch_size: int = 4
    parity: str = 'default'
    class_keyed: bool = False
    pattern_upsample: str = 'bilinear'
    pattern_window: Optional[int] = None

    def __post_init__(self) -> None:
        if self.eps_background is None:
            self.eps_background = self.eps_object
        if self.parity not in PARITY_MODES:
            raise ValueError(f'parity must be one of {PARITY_MODES}, got {self.parity!r}')
        if self.parity == 'reference' and (self.prompt_type != 'mask' or
                                           self.multi_object != 'union'):
            raise ValueError("parity='reference' reproduces the official generation, which "
                             "prompts with the mask of the union of the objects: use "
                             "prompt_type='mask', multi_object='union'")
        if self.class_keyed and (self.parity != 'default' or self.multi_object != 'union'):
            raise ValueError("class_keyed prompts each class's objects together beside the union "
                             "of all objects: use multi_object='union' and parity='default'")
        if self.pattern_upsample not in PATTERN_UPSAMPLING:
            raise ValueError(f'pattern_upsample must be one of {PATTERN_UPSAMPLING}, got '
                             f'{self.pattern_upsample!r}')
        if self.pattern_upsample != 'bilinear' and self.parity != 'default':
            raise ValueError("parity='reference' upsamples the pattern bilinearly, as the "
                             "official code does: use pattern_upsample='bilinear'")
        if self.pattern_window is not None:
            try:
                checked_pattern_window(self.pattern_window)
            except (TypeError, ValueError):
                raise ValueError(f'pattern_window must be None (the generator\'s own), 0 (the '
                                 f'whole image) or a window side in pixels, got '
                                 f'{self.pattern_window!r}') from None
        if self.pattern_window and (self.parity != 'default' or self.prompt_type != 'mask'):
            raise ValueError("pattern_window prompts every window with the objects' masks inside "
                             "it (an empty one where it has none): use prompt_type='mask' and "
                             "parity='default'")
        if self.prompt_type not in PROMPT_TYPES:
            raise ValueError(f'prompt_type must be one of {PROMPT_TYPES}, got '
                             f'{self.prompt_type!r}')
        if self.multi_object not in MULTI_OBJECT_RULES:
            raise ValueError(f'multi_object must be one of {MULTI_OBJECT_RULES}, got '
                             f'{self.multi_object!r}')
        for name in ('eps_object', 'eps_background'):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f'{name} must be in [0, 1] (intensity units, e.g. 8/255), got '
                                 f'{value}')
        if self.dtype not in ('float32', 'bfloat16'):
            raise ValueError(f"dtype must be 'float32' or 'bfloat16', got {self.dtype!r}")
        if self.num_points < 1 or self.batch_size < 1:
            raise ValueError('num_points and batch_size must be >= 1')


def image_seed(base: int, key: str) -> int:
    """Deterministic per-image seed from the run's seed and the image's key (e.g. its path)."""
    digest = hashlib.sha256(f'{base}:{key}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little') & ((1 << 63) - 1)


def is_kept_clean(key: str, seed: int, ratio: float) -> bool:
    """Whether the image ``key`` stays clean when only a ``1 - ratio`` share is protected.

    Decided by a hash of the key, so the offline tool and the transform pick the same images
    and the choice does not depend on order or sharding.
    """
    if ratio <= 0:
        return False
    return image_seed(seed, 'mix:' + key) / float(1 << 63) < ratio


# The class keys: the 8 symmetries of the square (``k % 4`` quarter turns, then a transpose when
# ``k >= 4``) x the 6 orders of the colour channels x the 8 sign patterns of the channels.
NUM_CLASS_KEYS = 8 * 6 * 8
_CHANNEL_ORDERS = list(itertools.permutations(range(3)))


def class_key(seed: int, label: int) -> int:
    """The pattern variant (in ``[0, NUM_CLASS_KEYS)``) of class id ``label`` under ``seed``:
    entry ``label % NUM_CLASS_KEYS`` of a permutation drawn from ``seed``, so classes below
    ``NUM_CLASS_KEYS`` all differ. Key 0 is the generator's own pattern."""
    return int(_class_key_order(seed)[int(label) % NUM_CLASS_KEYS])


@functools.lru_cache(maxsize=None)
def _class_key_order(seed: int) -> np.ndarray:
    """The permutation of the class keys drawn from ``seed`` (drawn once per seed; read-only,
    as it is shared)."""
    order = np.random.default_rng(image_seed(seed, 'class_keys')).permutation(NUM_CLASS_KEYS)
    order.flags.writeable = False
    return order


def _turn(x: torch.Tensor, key: int) -> torch.Tensor:
    """Symmetry ``key % 8`` of the square on the last two (equal) dimensions of ``x``."""
    k = key % 8
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return x.transpose(-2, -1) if k >= 4 else x


def _unturn(x: torch.Tensor, key: int) -> torch.Tensor:
    k = key % 8
    if k >= 4:
        x = x.transpose(-2, -1)
    return torch.rot90(x, -(k % 4), dims=(-2, -1))


def _recolour(pattern: torch.Tensor, key: int) -> torch.Tensor:
    """Channels of a C x H x W pattern reordered and sign-flipped by ``key // 8``."""
    order = _CHANNEL_ORDERS[(key // 8) % 6]
    signs = torch.tensor([-1.0 if (key // 48) >> c & 1 else 1.0 for c in range(3)],
                         dtype=pattern.dtype)
    return pattern[list(order)] * signs[:, None, None]


def _to_frame(image: np.ndarray, frame: int, channel_order: str) -> torch.Tensor:
    """uint8 H x W x 3 -> 1 x 3 x frame x frame RGB in [0, 1]: pad bottom/right to a square with
    black, then resize (bilinear), as the reference's generation does."""
    rgb = image[..., ::-1] if channel_order == 'bgr' else image
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float()[None] / 255.0
    side = max(x.shape[-2:])
    x = F.pad(x, (0, side - x.shape[-1], 0, side - x.shape[-2]))
    return F.interpolate(x, size=(frame, frame), mode='bilinear', align_corners=False)


def _mask_to_frame(mask: np.ndarray, frame: int) -> torch.Tensor:
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    side = max(m.shape[-2:])
    m = F.pad(m, (0, side - m.shape[-1], 0, side - m.shape[-2]))
    return F.interpolate(m, size=(frame, frame), mode='bilinear', align_corners=False).round()


def _prompts_for(masks: torch.Tensor, prompt_type: str, num_points: int,
                 generator: torch.Generator) -> Prompts:
    if prompt_type == 'mask':
        return Prompts(masks=masks)
    if prompt_type == 'box':
        return Prompts(boxes=masks_to_boxes(masks))
    coords, labels = sample_points(masks, num_points, generator)
    return Prompts(point_coords=coords, point_labels=labels)


def _cat_prompts(parts: List[Prompts]) -> Prompts:
    def cat(name):
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else torch.cat(values)

    return Prompts(boxes=cat('boxes'), point_coords=cat('point_coords'),
                   point_labels=cat('point_labels'), masks=cat('masks'))


def _pattern_to_image(pattern: torch.Tensor, h: int, w: int,
                      mode: str = 'bilinear') -> torch.Tensor:
    """Frame-space pattern 3 x f x f -> 3 x h x w over the original image (undo pad + resize)."""
    side = max(h, w)
    corners = {} if mode == 'nearest' else dict(align_corners=False)
    full = F.interpolate(pattern[None].float(), size=(side, side), mode=mode, **corners)[0]
    return full[:, :h, :w]


def effective_pattern_window(generator: UnSegGenerator, cfg: ProtectConfig) -> int:
    """The window side ``cfg`` publishes ``generator``'s pattern in (0: the whole image): the
    configured one, else the generator's own where the prompts are masks and the parity is ours."""
    if cfg.pattern_window is not None:
        return cfg.pattern_window
    if cfg.prompt_type != 'mask' or cfg.parity != 'default':
        return 0
    return getattr(generator, 'pattern_window', 0)


def window_starts(length: int, side: int) -> List[int]:
    """Offsets of the fewest windows of ``side`` pixels that cover ``length`` pixels, evenly
    overlapping, the first at 0 and the last ending at ``length`` ([0] where one suffices)."""
    if length <= side:
        return [0]
    count = -(-length // side)
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def _window_bounds(starts: List[int], side: int, length: int) -> List[Tuple[int, int]]:
    """Per window, the pixels ``[lo, hi)`` closer to its centre than to any other's."""
    centres = [s + side / 2 for s in starts]  # (one window: no cut, its centre unused)
    cuts = [0] + [int(np.ceil((a + b) / 2)) for a, b in zip(centres, centres[1:])] + [length]
    return list(zip(cuts, cuts[1:]))


def _crop_prompt(prompt: ImagePrompts, ys: slice, xs: slice, side: int) -> ImagePrompts:
    """The objects of ``prompt`` that show in a window, cropped and padded to ``side``; an
    empty object (label -1) where none does, so that the window is still prompted."""
    crops = [obj[ys, xs].astype(bool) for obj in prompt.objects]
    shown = [i for i, crop in enumerate(crops) if crop.any()]
    objects = [crops[i] for i in shown] or [np.zeros_like(crops[0])]
    labels = [prompt.label_of(i) for i in shown] or [-1]
    pad = ((0, side - objects[0].shape[0]), (0, side - objects[0].shape[1]))
    return ImagePrompts([np.pad(o, pad) for o in objects], labels)


@torch.no_grad()
def generate_patterns(generator: UnSegGenerator, images: Sequence[np.ndarray],
                      prompts: Sequence[ImagePrompts], cfg: ProtectConfig,
                      keys: Sequence[str], channel_order: str = 'bgr') -> List[torch.Tensor]:
    """Per image, the 3 x H x W pattern in [-1, 1] (RGB) the budget is applied to.

    Objects-free images get ``None``. Forward passes are batched ``cfg.batch_size`` at a time.
    With ``cfg.pattern_window`` every window is generated as an image of its own (padded with
    black to the window's side) and the windows' patterns are stitched.
    """
    side = effective_pattern_window(generator, cfg)
    if not side:
        return _generate_frames(generator, images, prompts, cfg, keys, channel_order)
    crops, crop_prompts, crop_keys, layout = [], [], [], []
    for idx, (image, prompt, key) in enumerate(zip(images, prompts, keys)):
        if not prompt.objects:
            layout.append(None)
            continue
        h, w = image.shape[:2]
        rows, cols = window_starts(h, side), window_starts(w, side)
        tiles = []
        for y0, (ylo, yhi) in zip(rows, _window_bounds(rows, side, h)):
            for x0, (xlo, xhi) in zip(cols, _window_bounds(cols, side, w)):
                ys, xs = slice(y0, y0 + side), slice(x0, x0 + side)
                crop = image[ys, xs]
                crops.append(np.pad(crop, ((0, side - crop.shape[0]),
                                           (0, side - crop.shape[1]), (0, 0))))
                crop_prompts.append(_crop_prompt(prompt, ys, xs, side))
                crop_keys.append(f'{key}@{y0},{x0}')
                tiles.append((len(crops) - 1, y0, x0, ylo, yhi, xlo, xhi))
        layout.append(tiles)
    frames = _generate_frames(generator, crops, crop_prompts, replace(cfg, pattern_window=0),
                              crop_keys, channel_order)
    results = []
    for image, tiles in zip(images, layout):
        if tiles is None:
            results.append(None)
            continue
        pattern = torch.empty(3, *image.shape[:2])
        for index, y0, x0, ylo, yhi, xlo, xhi in tiles:
            pattern[:, ylo:yhi, xlo:xhi] = frames[index][:, ylo - y0:yhi - y0, xlo - x0:xhi - x0]
        results.append(pattern)
    return results


def _generate_frames(generator: UnSegGenerator, images: Sequence[np.ndarray],
                     prompts: Sequence[ImagePrompts], cfg: ProtectConfig,
                     keys: Sequence[str], channel_order: str = 'bgr') -> List[torch.Tensor]:
    """:func:`generate_patterns` with every image one frame."""
    frame = generator.img_size
    device = torch.device(cfg.device)
    # One forward pass per (image, prompt): (image index, class id or None for the union, key,
    # frame image, frame mask); with class keys the image and mask are turned by the key.
    passes = []
    class_masks = {}  # image index -> {class id: full-resolution mask of its objects}
    for idx, (image, prompt) in enumerate(zip(images, prompts)):
        if not prompt.objects:
            continue
        framed = _to_frame(image, frame, channel_order)
        if cfg.multi_object == 'union':
            union = object_union(prompt, image.shape[:2])
            passes.append((idx, None, 0, framed, _mask_to_frame(union, frame)))
            if cfg.class_keyed:
                class_masks[idx] = _class_masks(prompt)
                for label, mask in class_masks[idx].items():
                    key = class_key(cfg.seed, label)
                    passes.append((idx, label, key, _turn(framed, key),
                                   _turn(_mask_to_frame(mask, frame), key)))
        else:
            passes += [(idx, k, 0, framed, _mask_to_frame(m, frame))
                       for k, m in enumerate(prompt.objects)]
    patterns = {}
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) \
        if cfg.dtype == 'bfloat16' else nullcontext()
    for start in range(0, len(passes), cfg.batch_size):
        chunk = passes[start:start + cfg.batch_size]
        # Point sampling is seeded per (image, prompt), so results do not depend on batching.
        batch_prompts = _cat_prompts([
            _prompts_for(mask, cfg.prompt_type, cfg.num_points,
                         torch.Generator().manual_seed(_pass_seed(cfg, keys[idx], which)))
            for idx, which, _, _, mask in chunk
        ]).to(device)
        images_t = torch.cat([framed for _, _, _, framed, _ in chunk]).to(device)
        region = torch.cat([mask for _, _, _, _, mask in chunk]).to(device)
        with autocast:
            out = generator(images_t, batch_prompts, region=region).float().cpu()
        for (idx, which, key, _, _), pattern in zip(chunk, out):
            if key:
                pattern = _recolour(_unturn(pattern, key), key)
            patterns.setdefault(idx, []).append((which, pattern))
    results = []
    for idx, (image, prompt) in enumerate(zip(images, prompts)):
        if idx not in patterns:
            results.append(None)
            continue
        h, w = image.shape[:2]
        if cfg.multi_object == 'union':
            (_, union), *classes = patterns[idx]
            combined = _pattern_to_image(union, h, w, cfg.pattern_upsample)
            for label, pat in classes:  # inside each class: the class's own pattern
                inside = torch.from_numpy(class_masks[idx][label])
                upsampled = _pattern_to_image(pat, h, w, cfg.pattern_upsample)
                combined[:, inside] = upsampled[:, inside]
            results.append(combined)
            continue
        per_object = [_pattern_to_image(p, h, w, cfg.pattern_upsample)
                      for _, p in patterns[idx]]
        if len(per_object) == 1:
            results.append(per_object[0])
            continue
        combined = torch.stack(per_object).mean(0)  # outside all objects: the mean pattern
        for obj, pat in zip(prompt.objects, per_object):
            inside = torch.from_numpy(obj.astype(bool))
            combined[:, inside] = pat[:, inside]
        results.append(combined)
    return results


def _class_masks(prompt: ImagePrompts) -> dict:
    """``{class id: mask of its objects}`` per known class of an image, in class id order."""
    masks = {}
    for index, obj in enumerate(prompt.objects):
        label = prompt.label_of(index)
        if label >= 0:
            masks[label] = masks.get(label, False) | obj.astype(bool)
    return dict(sorted(masks.items()))


def _pass_seed(cfg: ProtectConfig, key: str, which) -> int:
    """Seed of a pass's point sampling: the union's (and object k's) as without class keys."""
    if isinstance(which, int) and cfg.class_keyed:
        return image_seed(cfg.seed, f'{key}:class:{which}')
    return image_seed(cfg.seed, key) + (which or 0)


def apply_pattern(image: np.ndarray, pattern: Optional[torch.Tensor], prompt: ImagePrompts,
                  cfg: ProtectConfig, channel_order: str = 'bgr') -> ProtectResult:
    """Scale ``pattern`` by the region budgets and add it to ``image`` (uint8, rounded, clipped)."""
    if pattern is None:
        return ProtectResult(image.copy(), 0, 0, 0)
    region = object_union(prompt, image.shape[:2])
    budget = np.where(region, np.float32(cfg.eps_object),
                      np.float32(cfg.eps_background)) * np.float32(255.0)
    delta = pattern.numpy()  # 3 x H x W, RGB: scaled plane by plane, then added pixel-wise
    scaled = (delta[::-1] if channel_order == 'bgr' else delta) * budget
    changed = image.astype(np.float32)
    changed += scaled.transpose(1, 2, 0)
    return publish(image, changed, prompt, region)


def _reference_frame(image: np.ndarray, frame: int, channel_order: str) -> torch.Tensor:
    """The official loader's image: zero-pad to a square, resize (bilinear) in 0-255, then / 255."""
    rgb = image[..., ::-1] if channel_order == 'bgr' else image
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float()[None]
    side = max(x.shape[-2:])
    x = F.pad(x, (0, side - x.shape[-1], 0, side - x.shape[-2]))
    return F.interpolate(x, size=(frame, frame), mode='bilinear') / 255.0


def _reference_mask(mask: np.ndarray, frame: int) -> torch.Tensor:
    """The official label path: zero-pad, resize to the frame nearest-neighbour."""
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    side = max(m.shape[-2:])
    m = F.pad(m, (0, side - m.shape[-1], 0, side - m.shape[-2]))
    return F.interpolate(m, size=(frame, frame), mode='nearest')


@torch.no_grad()
def protect_reference(images: Sequence[np.ndarray], prompts: Sequence[ImagePrompts],
                      generator: UnSegGenerator, cfg: ProtectConfig,
                      channel_order: str = 'bgr') -> List[ProtectResult]:
    """``protect`` with ``parity='reference'``: the official generation script's steps and float
    arithmetic (one image per forward pass, as it runs), so that the uint8 output is identical.

    The budget applies where the prompt mask, at the prompt encoder's input size (256 for a
    1024 px frame), upsampled to the image (bilinear, rounded) is set; an image whose union mask
    vanishes at the frame (nearest-neighbour) is published unchanged, as the official code does.
    """
    frame = generator.img_size
    device = torch.device(cfg.device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) \
        if cfg.dtype == 'bfloat16' else nullcontext()
    results = []
    for image, prompt in zip(images, prompts):
        if prompt.keep_clean is not None:
            raise ValueError("parity='reference' has no partial protection (the official script "
                             "perturbs everything outside the objects): drop the class selection")
        if not prompt.objects:
            results.append(ProtectResult(image.copy(), 0, 0, 0))
            continue
        union = object_union(prompt, image.shape[:2])
        mask = _reference_mask(union, frame)
        if mask.sum() == 0:
            results.append(ProtectResult(image.copy(), 0, 0, 0))
            continue
        with autocast:
            noise = generator(_reference_frame(image, frame, channel_order).to(device),
                              Prompts(masks=mask.to(device)), region=mask.to(device)).float().cpu()
        h, w = image.shape[:2]
        side = max(h, w)
        small = F.interpolate(mask, size=generator.prompt_encoder.mask_input_size,
                              mode='bilinear').round()
        region = F.interpolate(small, size=(side, side), mode='bilinear').round()
        noise = F.interpolate(noise, size=(side, side), mode='bilinear')
        noise = noise * region * cfg.eps_object + noise * (1.0 - region) * cfg.eps_background
        noise = noise[:, :, :h, :w]
        rgb = image[..., ::-1] if channel_order == 'bgr' else image
        original = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float()
        new = torch.clamp(original + noise * 255.0, min=0, max=255).squeeze(0)
        published = np.rint(new.permute(1, 2, 0).numpy()).astype(np.uint8)  # half to even
        if channel_order == 'bgr':
            published = np.ascontiguousarray(published[..., ::-1])
        inside = region[0, 0, :h, :w].numpy() > 0.5
        results.append(ProtectResult(published, *region_linf(image, published, inside),
                                     len(prompt.objects)))
    return results


def check_inputs(images: Sequence[np.ndarray], prompts: Sequence[ImagePrompts],
                 keys: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the image when an input cannot be protected."""
    if not (len(images) == len(prompts) == len(keys)):
        raise ValueError('images, prompts and keys must have the same length')
    for key, image, prompt in zip(keys, images, prompts):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'{key}: expected a uint8 H x W x 3 image, got {image.dtype} '
                             f'{image.shape}')
        for obj in prompt.objects:
            if obj.shape != image.shape[:2]:
                raise ValueError(f'{key}: object mask {obj.shape} does not match the image '
                                 f'{image.shape[:2]}')


def protect(images: Sequence[np.ndarray], prompts: Sequence[ImagePrompts],
            generator: UnSegGenerator, cfg: ProtectConfig, keys: Sequence[str],
            channel_order: str = 'bgr') -> List[ProtectResult]:
    """Protect a batch of images (uint8 H x W x 3, ``channel_order`` BGR as mmcv loads them).

    Args:
        images: the images as published so far (full resolution, any sizes).
        prompts: per image, the objects to protect (see :class:`ImagePrompts`).
        generator: a loaded :class:`UnSegGenerator` (eval mode, on ``cfg.device``).
        cfg: budgets and prompting (see :class:`ProtectConfig`).
        keys: a stable identifier per image (e.g. its relative path): with ``cfg.seed`` it fixes
            every random choice, so the same image always gets the same pixels.

    Returns:
        Per image, the published uint8 image and the measured L-inf change per region
        (objects / elsewhere, in grey levels). Images without objects are returned unchanged.
    """
    check_inputs(images, prompts, keys)
    if cfg.parity == 'reference':
        return protect_reference(images, prompts, generator, cfg, channel_order)
    patterns = generate_patterns(generator, images, prompts, cfg, keys, channel_order)
    return [apply_pattern(img, pat, prm, cfg, channel_order)
            for img, pat, prm in zip(images, patterns, prompts)]
