"""How well does a protection's noise alone tell object pixels from background pixels?

An availability attack works when the target model can read the labels off the noise more
easily than off the image (a shortcut). For a class-agnostic mark (UnSeg's union-of-objects
noise, ``grating_objects``) the label to read is "object or background". This fits two linear
probes per protected copy, on the noise only (protected minus original, in grey levels), to
predict that label per pixel from the 8 x 8 window at the pixel (192 values):

- signed: on the noise values themselves - a fixed, aligned pattern or a colour cast that
  differs between objects and background is linearly separable this way; i.i.d. noise is at
  chance whatever its amplitude, and so is a grating (its phase changes from window to window);
- magnitude: on their absolute values - an amplitude map (8/255 on objects, 2/255 elsewhere)
  is separable this way even when the pattern is random;
- spectrum: on the window's amplitude spectrum (|2-D DFT| per channel) - phase-free, so a
  grating of another period or orientation on the objects shows here, as does an amplitude map.

Probes are ridge least-squares classifiers fitted on pixels of the first three quarters of the
images (balanced: as many object as background pixels per image) and scored on the rest
(balanced accuracy: 0.5 is chance, 1.0 a perfect mark). Only pixels whose 5 x 5 window lies
inside the image and holds one label are used, so edges between object and background (which
any smooth noise marks) do not count.

  python benchmarks/separability.py --suite mini_cluttered [--scale 0.5]

``--scale`` resamples the noise (bilinear) and the labels (nearest) by that factor first, as the
target's RandomResize does (the mini DeepLabV3 trains at 0.5-2x): a mark that only the
full-resolution probe reads may be gone at the scales the target model learns from.

reads every complete protected copy under work_dirs/benchmarks/<suite>/protected (or the
directories given with --dirs) and writes benchmarks/results/<suite>/separability.{json,md}.
Deterministic (fixed pixel draw per image).
"""
import argparse
import glob
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
WINDOW = 8


def describe(settings: dict) -> str:
    """A short name of a protected copy's method and budgets, from its manifest settings."""
    name = settings['method']
    if settings.get('checkpoint'):
        base = osp.basename(settings['checkpoint'])
        name += ' ' + base.replace('unseg_generator_tiny_mini-hqseg-', '').replace('.pth', '')
    options = settings.get('options') or settings.get('method_options')
    if options:
        name += ' ' + ','.join(f'{k}={v}' for k, v in sorted(options.items()))
    eo, eb = (round(settings[k] * 255, 2) for k in ('eps_object', 'eps_background'))
    return f'{name} @ {eo:g}/{eb:g}'


def pixel_features(delta: np.ndarray, label: np.ndarray, per_class: int, seed: int):
    """(features, targets) for up to ``per_class`` object and background pixels of one image.

    ``delta``: H x W x 3 noise in grey levels; ``label``: H x W, 1 object, 0 background,
    -1 ignore. Only pixels whose window holds one label are drawn.
    """
    windows = np.lib.stride_tricks.sliding_window_view(label, (WINDOW, WINDOW))
    pure = (windows.min(axis=(2, 3)) == windows.max(axis=(2, 3))) & (windows[..., 0, 0] >= 0)
    rng = np.random.default_rng(seed)
    feats, targets = [], []
    for cls in (0, 1):
        ys, xs = np.nonzero(pure & (windows[..., 0, 0] == cls))
        if len(ys) == 0:
            continue
        pick = np.sort(rng.choice(len(ys), size=min(per_class, len(ys)), replace=False))
        for y, x in zip(ys[pick], xs[pick]):
            feats.append(delta[y:y + WINDOW, x:x + WINDOW].reshape(-1))
        targets += [cls] * len(pick)
    if not feats:
        return np.zeros((0, WINDOW * WINDOW * 3), np.float32), np.zeros(0, np.int64)
    return np.asarray(feats, np.float32), np.asarray(targets, np.int64)


def ridge_probe(x_tr, y_tr, x_te, y_te, lam: float = 1.0) -> float:
    """Balanced test accuracy of a ridge least-squares classifier (targets -1/+1, bias)."""
    def design(x):
        return np.concatenate([x, np.ones((len(x), 1), np.float32)], 1).astype(np.float64)

    a, b = design(x_tr), np.where(y_tr == 1, 1.0, -1.0)
    reg = lam * np.eye(a.shape[1])
    reg[-1, -1] = 0
    w = np.linalg.solve(a.T @ a + reg, a.T @ b)
    pred = (design(x_te) @ w) > 0
    accs = [np.mean(pred[y_te == c] == bool(c)) for c in (0, 1) if np.any(y_te == c)]
    return float(np.mean(accs))


def resample(delta: np.ndarray, seg: np.ndarray, scale: float):
    """``delta`` (H x W x 3, bilinear) and ``seg`` (H x W, nearest) resized by ``scale``."""
    h, w = seg.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(delta[..., c]), mode='F')
                           .resize(size, Image.BILINEAR)) for c in range(delta.shape[2])]
    return (np.stack(channels, -1).astype(np.float32),
            np.asarray(Image.fromarray(seg).resize(size, Image.NEAREST)))


def load_pair(src_root: str, out_root: str, rel: str, scale: float = 1.0):
    orig = np.asarray(Image.open(osp.join(src_root, rel)).convert('RGB'), np.float32)
    prot = np.asarray(Image.open(osp.join(out_root, rel)).convert('RGB'), np.float32)
    stem = osp.splitext(osp.basename(rel))[0]
    seg = np.asarray(Image.open(osp.join(src_root, 'SegmentationClass', stem + '.png')))
    delta = prot - orig
    if scale != 1.0:
        delta, seg = resample(delta, seg, scale)
    label = np.where(seg == 255, -1, (seg > 0).astype(np.int64))
    return delta, label


def voc_copy(out_root: str):
    """(settings, sorted paths of the protected training images) of a protected VOC-format copy,
    from its manifest."""
    manifest = json.load(open(osp.join(out_root, 'unseg_manifest.json')))
    settings = manifest['settings']
    if settings.get('format') != 'voc':
        raise ValueError(f'{out_root}: only VOC-format copies are read here, got '
                         f"{settings.get('format')!r}")
    rels = sorted(item['path'] for item in manifest['images'] if item['status'] == 'protected')
    if not rels:
        raise ValueError(f'{out_root}: the manifest lists no protected image')
    return settings, rels


def probe_copy(out_root: str, per_class: int = 200, scale: float = 1.0) -> dict:
    settings, rels = voc_copy(out_root)
    split = len(rels) * 3 // 4
    parts = {'train': ([], []), 'test': ([], [])}
    for i, rel in enumerate(rels):
        delta, label = load_pair(settings['src'], out_root, rel, scale)
        x, y = pixel_features(delta, label, per_class, seed=i)
        part = parts['train' if i < split else 'test']
        part[0].append(x)
        part[1].append(y)
    (x_tr, y_tr), (x_te, y_te) = ((np.concatenate(a), np.concatenate(b))
                                  for a, b in (parts['train'], parts['test']))

    def spectrum(x):
        windows = x.reshape(len(x), WINDOW, WINDOW, 3)
        return np.abs(np.fft.rfft2(windows, axes=(1, 2))).reshape(len(x), -1)

    return dict(name=describe(settings), dir=osp.relpath(out_root, ROOT), scale=scale,
                images=len(rels), train_pixels=int(len(y_tr)), test_pixels=int(len(y_te)),
                signed=ridge_probe(x_tr, y_tr, x_te, y_te),
                magnitude=ridge_probe(np.abs(x_tr), y_tr, np.abs(x_te), y_te),
                spectrum=ridge_probe(spectrum(x_tr), y_tr, spectrum(x_te), y_te),
                mean_abs_object=float(np.abs(x_tr[y_tr == 1]).mean()),
                mean_abs_background=float(np.abs(x_tr[y_tr == 0]).mean()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--suite', default='mini_cluttered')
    parser.add_argument('--dirs', nargs='*', help='protected copies (default: all of the suite)')
    parser.add_argument('--per-class', type=int, default=200,
                        help='object and background pixels drawn per image')
    parser.add_argument('--scale', type=float, nargs='+', default=[1.0],
                        help='resample noise and labels by these factors first (one table '
                             'row per copy and factor)')
    parser.add_argument('--merge', action='store_true',
                        help="keep the table's rows of other copies (rows of the same copy and "
                             "scale are replaced): add a new copy without re-probing the rest")
    args = parser.parse_args(argv)
    if min(args.scale) <= 0:
        parser.error(f'--scale must be positive, got {args.scale}')
    dirs = args.dirs or sorted(glob.glob(osp.join(ROOT, 'work_dirs', 'benchmarks', args.suite,
                                                  'protected', '*')))
    from unseg_mm.apis.progress import complete_manifest
    rows = []
    for d in dirs:
        if complete_manifest(d) is None:
            print(f'skip {d}: no complete manifest')
            continue
        for scale in args.scale:
            rows.append(probe_copy(d, args.per_class, scale))
            print(f"{rows[-1]['name']} x{scale:g}: signed {rows[-1]['signed']:.3f} "
                  f"magnitude {rows[-1]['magnitude']:.3f} spectrum {rows[-1]['spectrum']:.3f}")
    if not rows:
        raise SystemExit(f'no complete protected copies under {dirs or args.suite}')
    out = osp.join(ROOT, 'benchmarks', 'results', args.suite)
    if args.merge and osp.isfile(osp.join(out, 'separability.json')):
        new = {(r['name'], r['scale']) for r in rows}
        rows += [r for r in json.load(open(osp.join(out, 'separability.json')))
                 if (r['name'], r['scale']) not in new]
    rows.sort(key=lambda r: (r['name'], r['scale']))
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'separability.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    lines = [f'## Noise separability: object vs background from the noise alone ({args.suite})',
             '', f'Command: `python benchmarks/separability.py --suite {args.suite} --scale '
             f"{' '.join(f'{v:g}' for v in args.scale)}`", '',
             'Balanced accuracy of linear probes on 8x8 noise windows (0.5 chance, 1.0 a '
             'perfect mark), fitted on 3/4 of the images, scored on the rest; signed: the '
             'noise values, magnitude: their absolute values, spectrum: the windows\' '
             'amplitude spectra. Mean abs. noise in grey levels.', '',
             '| protected copy | scale | signed | magnitude | spectrum | mean abs. noise, '
             'objects | mean abs. noise, background |', '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['name']} | {r['scale']:g} | {r['signed']:.3f} | {r['magnitude']:.3f} | "
                     f"{r['spectrum']:.3f} | {r['mean_abs_object']:.2f} | "
                     f"{r['mean_abs_background']:.2f} |")
    with open(osp.join(out, 'separability.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
