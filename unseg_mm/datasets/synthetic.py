"""Procedural scenes for the mini datasets.

A scene is an ordered list of layers, back to front, each a simple polygon with a category and an
instance index. Every label file of every format is rasterised from these polygons, and the image
is painted over the same polygons, so images, semantic maps, instance maps, COCO polygons and
Cityscapes polygon JSONs all agree.

Two worlds paint the same layouts:
* ``natural`` (the default; see :mod:`.appearance`): every region's look comes from ONE
  distribution of natural-image statistics shared by all categories, so class identity is carried
  by shape alone (objects: eight outline families, smoothly deformed per instance) and by layout
  (background bands: sky on top, wall, ground below). Unlabelled clutter of other outline families
  with the same looks sits on the background, so "a salient blob" is not yet "an object": as on
  photos, a model must know the categories' shapes to find them. Borders are soft, the frame has
  shading, illumination, white balance and sensor noise. As in many photos, the background is
  far: out of focus (depth of field) and hazy (atmospheric perspective), while the objects are
  near, sharp and at full contrast: that tells things from background, never one class from
  another.
* ``cluttered``: the natural world plus 2-4 unlabelled NEAR objects per scene, put at random
  depths among the labelled ones, sharp and at full contrast like them, of procedural outline
  families that are none of the categories (:data:`NEAR_CLUTTER_FAMILIES`). As on photos with
  unlabelled things in front, a sharp salient thing is not yet an object: finding the objects
  takes knowing the categories' shapes. It measures what a class-agnostic mark of the objects can
  do where objectness is hard (``benchmarks/suites/mini_cluttered.py``).
* ``cartoon``: each category has its own colour pair and periodic texture (stripes, checker,
  dots, ...). A network reads the class off one colour/texture statistic at once, which leaves
  no room for a small perturbation to act as a shortcut; the world is kept only for the mini
  HQSeg-44K set that the bundled generator was trained on, so that its recipe still reproduces it.
Objects overlap (later layers occlude earlier ones) and vary in size, rotation and aspect.
"""
import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from . import appearance

WORLDS = ('natural', 'cluttered', 'cartoon')


@dataclass(frozen=True)
class ThingClass:
    """An object category of the synthetic world.

    Attributes:
        name: name in the synthetic world (formats map it to their own category names).
        shape: outline family in the ``cartoon`` world, one of :data:`SHAPES` (the natural
            world's are :data:`NATURAL_SHAPES`).
        texture: texture family, one of :data:`TEXTURES` (``cartoon`` world only).
        colors: two RGB anchor colours (0-255) the instance colours are drawn between
            (``cartoon`` world only).
        size: (min, max) object size as a fraction of the image's shorter side.
    """
    name: str
    shape: str
    texture: str
    colors: Tuple[Tuple[int, int, int], Tuple[int, int, int]]
    size: Tuple[float, float]


@dataclass(frozen=True)
class StuffClass:
    """A background region category (a horizontal band with a wavy upper border); ``texture``
    and ``colors`` are its look in the ``cartoon`` world only."""
    name: str
    texture: str
    colors: Tuple[Tuple[int, int, int], Tuple[int, int, int]]


# Two shades per colour family, far apart in brightness, so textures stand out; both members of a
# pair draw from the same two shades.
RED = ((225, 75, 50), (120, 30, 20))
BLUE = ((70, 120, 235), (25, 40, 115))
GREEN = ((90, 195, 85), (25, 85, 35))
YELLOW = ((240, 220, 80), (125, 105, 25))

THINGS: Tuple[ThingClass, ...] = (
    ThingClass('disc', 'ellipse', 'stripes', RED, (0.35, 0.65)),
    ThingClass('block', 'rectangle', 'checker', RED, (0.3, 0.6)),
    ThingClass('spike', 'star', 'dots', BLUE, (0.4, 0.7)),
    ThingClass('wedge', 'triangle', 'smooth', BLUE, (0.35, 0.65)),
    ThingClass('hook', 'crescent', 'checker', GREEN, (0.4, 0.7)),
    ThingClass('plus', 'cross', 'stripes', GREEN, (0.35, 0.6)),
    ThingClass('hexa', 'hexagon', 'gradient', YELLOW, (0.3, 0.6)),
    ThingClass('arrow', 'arrow', 'dots', YELLOW, (0.4, 0.7)),
)
STUFF: Tuple[StuffClass, ...] = (
    StuffClass('sky', 'gradient', ((150, 180, 220), (220, 230, 245))),
    StuffClass('wall', 'bricks', ((120, 100, 90), (190, 170, 150))),
    StuffClass('ground', 'smooth', ((90, 80, 60), (150, 130, 100))),
)
SHAPES = ('ellipse', 'rectangle', 'star', 'triangle', 'crescent', 'cross', 'hexagon', 'arrow')
# The categories' outlines in the natural world (THINGS order), where outline is the only cue:
# structurally distinct families (an open ring, spikes, arms, a concave arc, a head, bars), not
# three convex blobs that look alike at a segmentation network's output stride.
NATURAL_SHAPES = ('ring', 'tee', 'star', 'triangle', 'crescent', 'cross', 'eich', 'arrow')
# Outline families of the unlabelled clutter in the natural world: none is a category's shape.
CLUTTER_SHAPES = ('blob', 'shard', 'bar')
TEXTURES = ('stripes', 'checker', 'dots', 'smooth', 'gradient', 'bricks')

# Layer kinds
STUFF_LAYER = 'stuff'
THING_LAYER = 'thing'
# An unlabelled foreground object (``cluttered`` world): near and sharp like the objects, of none
# of the categories' outlines; every format labels it as what no category claims (VOC background,
# ADE20K "other", Cityscapes/COCO void).
CLUTTER_LAYER = 'clutter'
# Outline families of the near clutter (:func:`.pretraining.family_outline`): disjoint from the
# backbone's pretraining families (0-47) and the generator's training families (1000-1127).
NEAR_CLUTTER_FAMILIES = range(2000, 2256)
# Number of near-clutter objects per scene (inclusive range).
NEAR_CLUTTER = (2, 4)


@dataclass
class Layer:
    """One polygon of a scene. ``category`` indexes THINGS or STUFF according to ``kind``.

    ``instance`` numbers things 1..N within an image (0 for stuff). ``crowd`` marks a group of
    objects annotated as one region (COCO ``iscrowd``); ``labelled`` is False for distractor
    objects that the HQSeg-style format leaves out of the mask.
    """
    kind: str
    category: int
    polygon: List[Tuple[int, int]]
    instance: int = 0
    crowd: bool = False
    labelled: bool = True


@dataclass
class Scene:
    """A rendered synthetic image and the layers it was painted from (back to front)."""
    height: int
    width: int
    layers: List[Layer]
    image: np.ndarray  # H x W x 3, RGB, uint8

    def rasterize(self, layers: Sequence[Layer] = None) -> np.ndarray:
        """Index map (int32) of the top-most layer at each pixel: index into ``layers``, -1 = none."""
        layers = self.layers if layers is None else layers
        return rasterize_layers(layers, self.height, self.width)


def rasterize_layers(layers: Sequence[Layer], height: int, width: int) -> np.ndarray:
    """Paint each polygon with its layer index, in order, with PIL's polygon filler.

    PIL is what ``cityscapesscripts`` uses to turn polygon JSONs into label images, so the maps
    computed here equal the ones its converters produce from the written JSONs.
    """
    canvas = Image.new('I', (width, height), -1)
    drawer = ImageDraw.Draw(canvas)
    for idx, layer in enumerate(layers):
        drawer.polygon(layer.polygon, fill=idx)
    return np.asarray(canvas, dtype=np.int32)


# ----------------------------------------------------------------------------------------------
# Shapes: every outline is a simple polygon (no holes), so polygon formats describe it exactly.


def _unit_outline(shape: str, rng: np.random.Generator) -> np.ndarray:
    """Outline of ``shape`` in a [-1, 1] box, as (N, 2) float vertices in order."""
    if shape == 'ellipse':
        t = np.linspace(0, 2 * math.pi, 40, endpoint=False)
        return np.stack([np.cos(t), np.sin(t) * rng.uniform(0.55, 0.9)], 1)
    if shape == 'rectangle':
        a = rng.uniform(0.5, 0.9)
        return np.array([[-1, -a], [1, -a], [1, a], [-1, a]], dtype=float)
    if shape == 'star':
        n = int(rng.integers(5, 8))
        t = np.linspace(0, 2 * math.pi, 2 * n, endpoint=False)
        r = np.where(np.arange(2 * n) % 2 == 0, 1.0, rng.uniform(0.35, 0.5))
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    if shape == 'triangle':
        return np.array([[0, -1], [1, 0.8], [-1, 0.8]], dtype=float)
    if shape == 'crescent':
        outer = np.linspace(-0.5 * math.pi, 0.5 * math.pi, 20)
        inner = outer[::-1]
        thick = rng.uniform(0.35, 0.55)
        pts = [(np.cos(t), np.sin(t)) for t in outer]
        pts += [((1 - thick) * np.cos(t) - thick * 0.6, (1 - thick) * np.sin(t)) for t in inner]
        return np.array(pts) + np.array([[-0.2, 0]])
    if shape == 'cross':
        w = rng.uniform(0.3, 0.45)
        return np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1],
                         [-w, w], [-1, w], [-1, -w], [-w, -w]], dtype=float)
    if shape == 'hexagon':
        t = np.linspace(0, 2 * math.pi, 6, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if shape == 'arrow':
        w = rng.uniform(0.2, 0.35)
        return np.array([[-1, -w], [0.2, -w], [0.2, -0.8], [1, 0], [0.2, 0.8], [0.2, w], [-1, w]],
                        dtype=float)
    if shape == 'ring':  # an annulus opened by a narrow gap (a simple polygon)
        thick = rng.uniform(0.3, 0.45)
        gap = rng.uniform(0.25, 0.45)
        t = np.linspace(gap, 2 * math.pi - gap, 28)
        outer = np.stack([np.cos(t), np.sin(t)], 1)
        return np.concatenate([outer, (1 - thick) * outer[::-1]])
    if shape == 'tee':
        w = rng.uniform(0.25, 0.4)
        return np.array([[-1, -1], [1, -1], [1, -1 + 2 * w], [w / 2, -1 + 2 * w], [w / 2, 1],
                         [-w / 2, 1], [-w / 2, -1 + 2 * w], [-1, -1 + 2 * w]], dtype=float)
    if shape == 'eich':  # the letter H
        w = rng.uniform(0.25, 0.4)
        b = rng.uniform(0.15, 0.25)
        return np.array([[-1, -1], [-1 + w, -1], [-1 + w, -b], [1 - w, -b], [1 - w, -1], [1, -1],
                         [1, 1], [1 - w, 1], [1 - w, b], [-1 + w, b], [-1 + w, 1], [-1, 1]],
                        dtype=float)
    if shape == 'blob':  # smooth random star-convex outline
        t = np.linspace(0, 2 * math.pi, 36, endpoint=False)
        r = np.ones_like(t)
        for k in (2, 3, 4):
            r += rng.uniform(0, 0.35 / k * 2) * np.cos(k * t + rng.uniform(0, 2 * math.pi))
        r = r / r.max()
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    if shape == 'shard':  # irregular angular polygon
        n = int(rng.integers(4, 8))
        t = np.sort(rng.uniform(0, 2 * math.pi, n))
        r = rng.uniform(0.45, 1.0, n)
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    if shape == 'bar':  # a long, slightly bent strip (a branch, a pole, a cable)
        w = rng.uniform(0.08, 0.2)
        bend = rng.uniform(-0.4, 0.4)
        x = np.linspace(-1, 1, 12)
        y = bend * (x ** 2 - 0.5)
        return np.concatenate([np.stack([x, y - w], 1), np.stack([x[::-1], y[::-1] + w], 1)])
    raise ValueError(f'unknown shape {shape!r}')


def _deform(outline: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A smooth random warp of an outline (intra-class variation of a shape): edges are
    resampled densely, then displaced by low-frequency sines of up to ``amount`` of the box."""
    closed = np.concatenate([outline, outline[:1]])
    dense = []
    for a, b in zip(closed[:-1], closed[1:]):
        steps = max(1, int(np.ceil(np.linalg.norm(b - a) / 0.15)))
        dense.extend(a + (b - a) * k / steps for k in range(steps))
    pts = np.array(dense)
    freq = rng.uniform(1.0, 2.5, 2)
    phase = rng.uniform(0, 2 * math.pi, 2)
    shift = np.stack([np.sin(freq[0] * pts[:, 1] + phase[0]),
                      np.sin(freq[1] * pts[:, 0] + phase[1])], 1)
    return pts + amount * shift


def _place(outline: np.ndarray, cx: float, cy: float, radius: float, angle: float,
           aspect: float) -> List[Tuple[int, int]]:
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pts = outline * np.array([[radius, radius * aspect]])
    pts = pts @ rot.T + np.array([[cx, cy]])
    return [(int(round(x)), int(round(y))) for x, y in pts]


# ----------------------------------------------------------------------------------------------
# Textures: float RGB fields in 0..255 over the whole canvas, with per-instance random parameters.


def _smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: bilinear upsampling of a coarse random grid."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    img = Image.fromarray(coarse, mode='F').resize((w, h), Image.BILINEAR)
    return np.asarray(img)


def _mix(c0, c1, t: np.ndarray) -> np.ndarray:
    c0 = np.asarray(c0, np.float32)
    c1 = np.asarray(c1, np.float32)
    return c0 + (c1 - c0) * t[..., None]


def _texture(kind: str, colors, rng: np.random.Generator, h: int, w: int,
             scale: float) -> np.ndarray:
    jitter = rng.normal(0, 12, size=(2, 3))
    c0 = np.clip(np.asarray(colors[0]) + jitter[0], 0, 255)
    c1 = np.clip(np.asarray(colors[1]) + jitter[1], 0, 255)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(3.0, scale * rng.uniform(0.18, 0.28))
    angle = rng.uniform(0, math.pi)
    u = xx * math.cos(angle) + yy * math.sin(angle)
    v = -xx * math.sin(angle) + yy * math.cos(angle)
    if kind == 'stripes':
        t = (np.sin(2 * math.pi * u / period + rng.uniform(0, 6.3)) > 0).astype(np.float32)
    elif kind == 'checker':
        t = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == 'dots':
        fu = (u / period) % 1.0 - 0.5
        fv = (v / period) % 1.0 - 0.5
        t = ((fu ** 2 + fv ** 2) < 0.09).astype(np.float32)
    elif kind == 'smooth':
        t = _smooth_field(rng, h, w, cells=6)
    elif kind == 'gradient':
        t = (u - u.min()) / max(1e-6, float(u.max() - u.min()))
    elif kind == 'bricks':
        row = np.floor(yy / (period * 0.6))
        shift = (row % 2) * period * 0.5
        mortar = ((yy % (period * 0.6)) < 1.5) | (((xx + shift) % period) < 1.5)
        t = np.where(mortar, 1.0, 0.25 + 0.2 * _smooth_field(rng, h, w, cells=8)).astype(np.float32)
    else:
        raise ValueError(f'unknown texture {kind!r}')
    return _mix(c0, c1, t)


# ----------------------------------------------------------------------------------------------
# Scenes


def _stuff_layers(rng: np.random.Generator, h: int, w: int) -> List[Layer]:
    """Background bands, back to front: sky on top, then wall, then ground, with wavy borders."""
    layers = [Layer(STUFF_LAYER, 0, [(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)])]
    top = 0.25 + 0.15 * rng.random()
    bottom = top + 0.25 + 0.2 * rng.random()
    for category, frac in ((1, top), (2, bottom)):
        xs = np.linspace(0, w - 1, 9)
        amp = 0.06 * h
        ys = frac * h + amp * np.sin(xs / w * 2 * math.pi * rng.uniform(0.5, 2) + rng.uniform(0, 6.3))
        border = [(int(round(x)), int(round(np.clip(y, 1, h - 2)))) for x, y in zip(xs, ys)]
        layers.append(Layer(STUFF_LAYER, category, border + [(w - 1, h - 1), (0, h - 1)]))
    return layers


def _thing_polygon(cls: ThingClass, rng: np.random.Generator, h: int, w: int,
                   size_scale: float = 1.0, deform: float = 0.0,
                   shape: str = None) -> List[Tuple[int, int]]:
    """A placed outline of ``cls`` (of family ``shape``, default the class's own)."""
    side = min(h, w)
    radius = 0.5 * side * rng.uniform(*cls.size) * size_scale
    cx = rng.uniform(0.1, 0.9) * w
    cy = rng.uniform(0.15, 0.9) * h
    outline = _unit_outline(shape or cls.shape, rng)
    if deform:
        outline = _deform(outline, rng, deform)
    return _place(outline, cx, cy, radius, rng.uniform(0, 2 * math.pi), rng.uniform(0.75, 1.0))


def _clutter(canvas: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Strokes and small blobs in the objects' colours, painted onto the background only."""
    h, w = canvas.shape[:2]
    img = Image.fromarray(canvas)
    drawer = ImageDraw.Draw(img)
    palettes = [c.colors for c in THINGS]
    for _ in range(count):
        colors = palettes[int(rng.integers(len(palettes)))]
        color = tuple(int(v) for v in _mix(colors[0], colors[1], np.array(rng.random())))
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        if rng.random() < 0.6:
            x1, y1 = x0 + rng.normal(0, w / 5), y0 + rng.normal(0, h / 5)
            drawer.line([(x0, y0), (x1, y1)], fill=color, width=int(rng.integers(1, 4)))
        else:
            r = rng.uniform(1.5, 0.04 * min(h, w))
            drawer.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=color)
    canvas[...] = np.asarray(img)


# Smooth warp of the category outlines in the natural world (fraction of the unit box).
DEFORM = 0.12
# Object size in the natural world relative to the categories' ``size``: small enough that the
# stock training crops (128 px after up to 2x rescaling) still hold whole outlines, the only cue
# to the class.
NATURAL_SIZE = 1.0


def render_scene(rng: np.random.Generator,
                 height: int,
                 width: int,
                 num_things: Tuple[int, int] = (1, 4),
                 categories: Sequence[int] = None,
                 crowd_prob: float = 0.0,
                 distractors: int = 0,
                 world: str = 'natural') -> Scene:
    """Draw one scene.

    Args:
        rng: the only source of randomness (same state -> same scene, byte for byte).
        height, width: image size in pixels.
        num_things: inclusive range of the number of labelled objects.
        categories: THINGS indices to draw from (default: all).
        crowd_prob: probability that one extra small group of same-category objects is added as a
            single ``crowd`` layer (COCO ``iscrowd=1``).
        distractors: number of extra unlabelled objects drawn first (HQSeg style: one labelled
            object among others).
        world: one of :data:`WORLDS` (see the module docstring).
    """
    if world not in WORLDS:
        raise ValueError(f'unknown world {world!r}; choose from {WORLDS}')
    natural = world != 'cartoon'
    deform = DEFORM if natural else 0.0
    size = NATURAL_SIZE if natural else 1.0
    categories = list(range(len(THINGS))) if categories is None else list(categories)
    layers = _stuff_layers(rng, height, width)
    for _ in range(distractors):
        cat = int(rng.integers(len(THINGS)))
        layers.append(Layer(THING_LAYER, cat,
                            _thing_polygon(THINGS[cat], rng, height, width, 0.8 * size, deform,
                                           outline_of(cat, world)),
                            labelled=False))
    n = int(rng.integers(num_things[0], num_things[1] + 1))
    instance = 0
    for _ in range(n):
        cat = categories[int(rng.integers(len(categories)))]
        instance += 1
        layers.append(Layer(THING_LAYER, cat,
                            _thing_polygon(THINGS[cat], rng, height, width, size, deform,
                                           outline_of(cat, world)),
                            instance=instance))
    if world == 'cluttered':
        # Unlabelled near objects, each put at a random depth among the labelled ones.
        for _ in range(int(rng.integers(NEAR_CLUTTER[0], NEAR_CLUTTER[1] + 1))):
            at = int(rng.integers(len(layers) - n, len(layers) + 1))
            layers.insert(at, Layer(CLUTTER_LAYER, -1, _near_clutter_polygon(rng, height, width),
                                    labelled=False))
    if crowd_prob and rng.random() < crowd_prob:
        cat = categories[int(rng.integers(len(categories)))]
        instance += 1
        # A crowd is a tight cluster of small objects annotated as one region: its outline is the
        # convex hull of the cluster.
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.3, 0.8) * height
        r = 0.12 * min(height, width)
        t = np.sort(rng.uniform(0, 2 * math.pi, 7))
        poly = [(int(round(cx + r * math.cos(a) * rng.uniform(0.7, 1.0))),
                 int(round(cy + r * math.sin(a) * rng.uniform(0.7, 1.0)))) for a in t]
        layers.append(Layer(THING_LAYER, cat, poly, instance=instance, crowd=True))
    paint = _paint_cartoon if world == 'cartoon' else _paint_natural
    return Scene(height, width, layers, paint(layers, rng, height, width))


def outline_of(category: int, world: str) -> str:
    """The outline family of THINGS[category] in ``world``."""
    return THINGS[category].shape if world == 'cartoon' else NATURAL_SHAPES[category]


def _near_clutter_polygon(rng: np.random.Generator, h: int, w: int,
                          families: Sequence[int] = NEAR_CLUTTER_FAMILIES,
                          exclude: int = None, top: float = 0.15) -> List[Tuple[int, int]]:
    """An unlabelled near object of a ``families`` outline (not ``exclude``: then the next
    family), the categories' size, anywhere in the frame below ``top`` of its height."""
    from .pretraining import family_outline  # pretraining builds on this module
    family = families[int(rng.integers(len(families)))]
    if family == exclude:
        family = families[(families.index(family) + 1) % len(families)]
    radius = 0.5 * min(h, w) * rng.uniform(0.35, 0.65) * NATURAL_SIZE
    return _place(family_outline(family, rng), rng.uniform(0.1, 0.9) * w,
                  rng.uniform(top, 0.9) * h, radius, rng.uniform(0, 2 * math.pi),
                  rng.uniform(0.75, 1.0))


def _clutter_polygons(rng: np.random.Generator, h: int, w: int) -> List[List[Tuple[int, int]]]:
    """Unlabelled background objects of the clutter families, about the categories' size."""
    side = min(h, w)
    polygons = []
    for _ in range(int(rng.integers(1, 4))):
        shape = CLUTTER_SHAPES[int(rng.integers(len(CLUTTER_SHAPES)))]
        outline = _deform(_unit_outline(shape, rng), rng, DEFORM)
        radius = 0.5 * side * rng.uniform(0.25, 0.65) * NATURAL_SIZE
        polygons.append(_place(outline, rng.uniform(0, w), rng.uniform(0, h), radius,
                               rng.uniform(0, 2 * math.pi), rng.uniform(0.6, 1.0)))
    return polygons


def _paint_natural(layers: Sequence[Layer], rng: np.random.Generator, h: int,
                   w: int) -> np.ndarray:
    """Composite every layer back to front, each with its own look from the shared distribution
    and a soft edge; clutter goes onto the background, which is then defocused and hazed, before
    the first object."""
    focus = rng.uniform(0.4, 1.0)  # edge blur of the whole scene, pixels
    image = np.zeros((h, w, 3), np.float32)

    def composite(polygon, image):
        alpha = appearance.soft_alpha(rasterize_layers([Layer(STUFF_LAYER, 0, polygon)], h, w)
                                      >= 0, focus)[..., None]
        look = appearance.paint(appearance.sample_appearance(rng), rng, h, w)
        return image * (1 - alpha) + look * alpha

    background_done = False
    for layer in layers:
        if layer.kind != STUFF_LAYER and not background_done:
            for polygon in _clutter_polygons(rng, h, w):
                image = composite(polygon, image)
            # Depth: the background is far away, hazy and out of focus; the objects are near,
            # sharp and at full contrast.
            image = appearance.haze(appearance.defocus(image, rng.uniform(0.8, 2.0)), rng)
            background_done = True
        image = composite(layer.polygon, image)
    return appearance.finish(image, rng)


def _paint_cartoon(layers: Sequence[Layer], rng: np.random.Generator, height: int,
                   width: int) -> np.ndarray:
    """Each category's own colours and periodic texture, clutter strokes in the objects'
    colours on the background, one illumination change and sensor noise."""
    index = rasterize_layers(layers, height, width)
    image = np.zeros((height, width, 3), np.float32)
    side = min(height, width)
    background = np.zeros((height, width), bool)
    for idx, layer in enumerate(layers):
        region = index == idx
        if not region.any():
            continue
        if layer.kind == STUFF_LAYER:
            cls = STUFF[layer.category]
            image[region] = _texture(cls.texture, cls.colors, rng, height, width, side * 0.5)[region]
            background |= region
        else:
            cls = THINGS[layer.category]
            image[region] = _texture(cls.texture, cls.colors, rng, height, width, side * 0.5)[region]
    # Clutter on the background only, so labels stay exact.
    clutter = image.copy().clip(0, 255).astype(np.uint8)
    _clutter(clutter, rng, count=int(rng.integers(6, 14)))
    image[background] = clutter[background]
    # Global illumination change and sensor noise.
    gain = rng.uniform(0.8, 1.15)
    shade = 0.85 + 0.3 * _smooth_field(rng, height, width, cells=3)
    image = image * gain * shade[..., None] + rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8)
