"""Procedural outline families in the natural mini world: the backbones' pretraining set and
the generator's training scenes.

Real segmentation models start from an ImageNet backbone: they arrive knowing what edges,
corners and parts look like, and fine-tune on a few thousand images. The mini benchmark's models
are trained on 256 images on a CPU, so they get the same start from a "mini ImageNet": object-
centred images painted by the natural world's renderer (same appearance distribution, clutter,
depth and camera), labelled by outline family. The families are procedural outlines drawn from
their own seeds, never the benchmark's categories (``synthetic.NATURAL_SHAPES``) nor its clutter
(``synthetic.CLUTTER_SHAPES``), so pretraining teaches how shapes look in this world, not the
benchmark's classes. The generator's training scenes (the mini HQSeg set of the natural world)
draw from another range of families, :data:`GENERATOR_FAMILIES`: the generator never sees the
benchmark's categories, the paper's universality claim, tested rather than assumed.
"""
import math
from typing import Tuple

import numpy as np

from . import synthetic
from .synthetic import DEFORM, THING_LAYER, Layer, Scene

# Families are seeded from this offset, far from every seed the mini datasets use.
FAMILY_SEED = 7_000_000
# Families of the generator's training scenes: disjoint from the backbone's pretraining families
# (0 .. number of families pretrained - 1, 48 for the bundled backbone).
GENERATOR_FAMILIES = range(1000, 1128)


def family_outline(family: int, rng: np.random.Generator) -> np.ndarray:
    """One instance of procedural outline family ``family`` in a [-1, 1] box: the family fixes
    the outline's structure (a radial profile of up to five harmonics, or a star-shaped polygon
    of 3-9 vertices); the instance jitters it and warps it like the benchmark's categories."""
    spec = np.random.default_rng(FAMILY_SEED + family)
    if spec.random() < 0.5:
        t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        r = np.ones_like(t)
        for k in range(2, 7):
            if spec.random() < 0.6:
                amp = spec.uniform(0.05, 0.5) / math.sqrt(k - 1)
                r += (amp * rng.uniform(0.8, 1.2)) * np.cos(k * t + spec.uniform(0, 2 * math.pi))
        r = np.clip(r, 0.15, None)
        r = r / r.max()
    else:
        n = int(spec.integers(3, 10))
        t = np.sort(spec.uniform(0, 2 * math.pi, n)) + rng.normal(0, 0.05, n)
        r = spec.uniform(0.3, 1.0, n) * rng.uniform(0.9, 1.1, n)
        r = r / r.max()
    outline = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    return synthetic._deform(outline, rng, DEFORM)


def render_pretraining_image(rng: np.random.Generator, family: int,
                             size: int = 64) -> np.ndarray:
    """A ``size`` x ``size`` RGB uint8 image of one object of ``family`` near the centre, on a
    natural-world background with clutter (the object may be partly cut by the frame)."""
    layers = synthetic._stuff_layers(rng, size, size)
    radius = 0.5 * size * rng.uniform(0.5, 0.9)
    cx, cy = size * rng.uniform(0.35, 0.65, 2)
    polygon = synthetic._place(family_outline(family, rng), cx, cy, radius,
                               rng.uniform(0, 2 * math.pi), rng.uniform(0.75, 1.0))
    layers.append(Layer(THING_LAYER, 0, polygon, instance=1))
    return synthetic._paint_natural(layers, rng, size, size)


def _area(polygon) -> float:
    """Area of a simple polygon (shoelace formula), in pixels."""
    xy = np.asarray(polygon, np.float64)
    return 0.5 * abs(float(np.dot(xy[:, 0], np.roll(xy[:, 1], 1)) -
                           np.dot(xy[:, 1], np.roll(xy[:, 0], 1))))


def render_family_scene(rng: np.random.Generator, height: int, width: int,
                        families=GENERATOR_FAMILIES, max_distractors: int = 2,
                        min_area: float = 0.03, world: str = 'natural') -> Scene:
    """One scene in the HQSeg style: a single labelled salient object of a family drawn from
    ``families``, behind it up to ``max_distractors`` unlabelled objects of other families, on a
    natural-world background with clutter. The labelled object's outline is redrawn (from the
    same ``rng``) while it would cover less than ``min_area`` of the frame: a sliver teaches the
    generator nothing about objects. In the ``cluttered`` world (see :mod:`.synthetic`) the scene
    also gets :data:`synthetic.NEAR_CLUTTER` unlabelled near objects of other ``families``, as
    large as the labelled one and at random depths around it, so that the labelled object is
    not simply the largest or front-most sharp thing."""
    if world not in ('natural', 'cluttered'):
        raise ValueError(f'family scenes are drawn in the natural or cluttered world, not {world!r}')
    layers = synthetic._stuff_layers(rng, height, width)
    side = min(height, width)
    count = int(rng.integers(0, max_distractors + 1))
    chosen = [families[int(i)] for i in rng.choice(len(families), count + 1, replace=False)]
    for k, family in enumerate(chosen):
        labelled = k == count
        for _ in range(20):
            radius = 0.5 * side * (rng.uniform(0.4, 0.8) if labelled else rng.uniform(0.25, 0.5))
            cx, cy = width * rng.uniform(0.2, 0.8), height * rng.uniform(0.2, 0.8)
            polygon = synthetic._place(family_outline(family, rng), cx, cy, radius,
                                       rng.uniform(0, 2 * math.pi), rng.uniform(0.75, 1.0))
            if not labelled or _area(polygon) >= min_area * height * width:
                break
        layers.append(Layer(THING_LAYER, 0, polygon, instance=int(labelled), labelled=labelled))
    if world == 'cluttered':
        first = len(layers) - 1  # the labelled object
        lo, hi = synthetic.NEAR_CLUTTER
        for _ in range(int(rng.integers(lo, hi + 1))):
            polygon = synthetic._near_clutter_polygon(rng, height, width, families,
                                                      exclude=chosen[-1], top=0.1)
            at = int(rng.integers(first, len(layers) + 1))
            layers.insert(at, Layer(synthetic.CLUTTER_LAYER, -1, polygon, labelled=False))
    return Scene(height, width, layers, synthetic._paint_natural(layers, rng, height, width))


def make_pretraining_set(num_families: int, per_family: int, size: int = 64,
                         seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: N x size x size x 3 uint8 and N int64, families interleaved.
    Image ``i`` depends only on ``(seed, i)``."""
    count = num_families * per_family
    images = np.empty((count, size, size, 3), np.uint8)
    labels = np.arange(count, dtype=np.int64) % num_families
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        images[i] = render_pretraining_image(rng, int(labels[i]), size)
    return images, labels


__all__ = ['FAMILY_SEED', 'GENERATOR_FAMILIES', 'family_outline', 'render_pretraining_image',
           'render_family_scene', 'make_pretraining_set']
