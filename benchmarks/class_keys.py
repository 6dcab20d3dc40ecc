"""How many of the class keys give patterns a target model can tell apart?

``--class-keyed`` gives every class one of 384 variants of the generator's pattern (the square's
8 symmetries x 6 channel orders x 8 channel sign patterns; ``unseg_mm.apis.protect.class_key``).
A target model sees random crops of the published images, so it can only tell two variants apart
by what does not depend on where the crop starts: for a texture, its auto- and cross-correlation
between the colour channels (the second-order statistics that a 1 x 1 colour filter followed by
local energy reads). Variants whose correlations agree are the same class code to it: a texture
and its negative (all channels' signs flipped), a texture and its 180-degree turn, and, for a
pattern that uses some colour channels alike or not at all, the channel orders and sign flips
that only move those.

For a generator file this prompts the generator with the whole frame of ``--images`` mini images
(each key's pass as the tool makes it: image and mask turned, pattern turned back and
recoloured), takes every variant's circular auto/cross-correlation over the frame (3 x 3 channel
pairs x every shift, normalised), and reports:

- how many distinct class codes the 384 keys give (variants with cosine similarity > 0.99 on
  every probe image are one code),
- for the classes of a dataset format as the tool sees them (the label ids of the labelled
  regions in the mini dataset, every region prompted) under protection seeds 0-2: how many
  pairs of classes share a code, and the largest similarity between two classes' codes.

  python benchmarks/class_keys.py --format cityscapes ade20k voc

Writes benchmarks/results/mini/class_keys.{json,md}.
"""
import argparse
import json
import os
import os.path as osp

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOTS = {'voc': 'VOCdevkit/VOC2012', 'ade20k': 'ADEChallengeData2016',
         'cityscapes': 'cityscapes', 'coco_panoptic': 'coco'}


def correlations(pattern: torch.Tensor) -> torch.Tensor:
    """Normalised circular auto/cross-correlation (C x C x H x W, flattened) of a C x H x W
    pattern: what does not change when the pattern is shifted."""
    spectrum = torch.fft.fft2(pattern)
    cross = torch.einsum('chw,dhw->cdhw', spectrum, spectrum.conj())
    corr = torch.fft.ifft2(cross).real.flatten()
    return corr / corr.norm().clamp_min(1e-12)


@torch.no_grad()
def key_codes(generator, images) -> torch.Tensor:
    """K x K cosine similarity of the keys' correlations: the minimum over ``images``."""
    from unseg_mm.apis.protect import NUM_CLASS_KEYS, _recolour, _to_frame, _turn, _unturn
    from unseg_mm.models.prompts import Prompts
    frame = generator.img_size
    similarity = None
    for image in images:
        framed = _to_frame(image, frame, 'bgr')
        mask = torch.ones(1, 1, frame, frame)
        codes = []
        for start in range(0, NUM_CLASS_KEYS, 32):
            keys = list(range(start, min(start + 32, NUM_CLASS_KEYS)))
            batch = torch.cat([_turn(framed, k) for k in keys])
            masks = mask.expand(len(keys), -1, -1, -1)
            out = generator(batch, Prompts(masks=masks), region=masks)
            codes += [correlations(_recolour(_unturn(p, k), k)) for k, p in zip(keys, out)]
        codes = torch.stack(codes)
        sim = codes @ codes.T
        similarity = sim if similarity is None else torch.minimum(similarity, sim)
    return similarity


def distinct_codes(similarity: torch.Tensor, threshold: float = 0.99) -> int:
    """Number of groups of keys whose similarity exceeds ``threshold`` (greedy grouping)."""
    left, groups = set(range(len(similarity))), 0
    while left:
        first = min(left)
        left -= {k for k in left if similarity[first, k] > threshold}
        groups += 1
    return groups


def dataset_labels(fmt: str, data_root: str) -> list:
    """Class ids of the labelled regions in the mini dataset of ``fmt``, as the tool loads them
    (every region prompted: ``--background-classes none``)."""
    import copy

    from unseg_mm.apis.dataset_formats import format_spec
    from unseg_mm.apis.dataset_samples import build_samples, loading_pipeline
    from unseg_mm.datasets.prompt_extraction import prompts_of_sample
    src = osp.join(data_root, ROOTS[fmt])
    spec = format_spec(fmt, src)
    pipeline = loading_pipeline(spec)
    labels = set()
    for info in build_samples(spec, src):
        prompt = prompts_of_sample(pipeline(copy.deepcopy(info)), spec.rules)
        labels |= {int(v) for v in prompt.labels if v >= 0}
    return sorted(labels)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--checkpoint', default=None, help='generator file (default: bundled)')
    parser.add_argument('--format', nargs='+', default=['cityscapes', 'ade20k', 'voc'],
                        choices=sorted(ROOTS))
    parser.add_argument('--data-root', default=osp.join(ROOT, 'data', 'mini'))
    parser.add_argument('--images', type=int, default=3, help='probe images (default 3)')
    args = parser.parse_args(argv)
    from unseg_mm.apis.checkpoint import BUNDLED_GENERATOR, load_generator
    from unseg_mm.apis.dataset_formats import format_spec
    from unseg_mm.apis.dataset_samples import build_samples
    from unseg_mm.apis.protect import class_key
    torch.manual_seed(0)
    checkpoint = args.checkpoint or BUNDLED_GENERATOR
    generator = load_generator(checkpoint).eval()
    voc = osp.join(args.data_root, ROOTS['voc'])
    import mmcv
    probes = [mmcv.imread(s['img_path']) for s in
              build_samples(format_spec('voc', voc), voc)[:args.images]]
    similarity = key_codes(generator, probes)
    report = dict(checkpoint=osp.relpath(checkpoint, ROOT), images=args.images,
                  keys=len(similarity), distinct_codes=distinct_codes(similarity), formats={})
    for fmt in args.format:
        labels = dataset_labels(fmt, args.data_root)
        rows = []
        for seed in (0, 1, 2):
            keys = [class_key(seed, label) for label in labels]
            sim = similarity[keys][:, keys] - 2 * torch.eye(len(keys))
            rows.append(dict(seed=seed, shared=int((sim > 0.99).sum()) // 2,
                             max_similarity=round(float(sim.max()), 3)))
        report['formats'][fmt] = dict(labels=labels, seeds=rows)
    out = osp.join(ROOT, 'benchmarks', 'results', 'mini')
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'class_keys.json'), 'w') as f:
        json.dump(report, f, indent=1)
    lines = ['## Class keys a target can tell apart', '',
             f'Command: `python benchmarks/class_keys.py --format {" ".join(args.format)}`', '',
             f"Generator `{report['checkpoint']}`, {args.images} probe images: the 384 keys give "
             f"**{report['distinct_codes']} distinct class codes** (shift-free correlations; "
             'cosine > 0.99 on every probe image is one code).', '',
             '| format | classes (label ids) | seed | pairs of classes sharing a code | '
             'largest similarity between two classes |', '|---|---|---|---|---|']
    for fmt, entry in report['formats'].items():
        for row in entry['seeds']:
            ids = ', '.join(map(str, entry['labels']))
            lines.append(f"| {fmt} | {len(entry['labels'])} ({ids}) | {row['seed']} | "
                         f"{row['shared']} | {row['max_similarity']:.3f} |")
    with open(osp.join(out, 'class_keys.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
