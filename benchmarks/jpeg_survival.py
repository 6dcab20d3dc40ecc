"""How much of a protection's noise survives the JPEG defence?

A trainer who re-encodes the published images at JPEG quality 10 (ISS-J, the suite's `jpeg10`
defence) trains on J(protected) instead of the protected image. What is left of the noise is
J(protected) - J(original); this measures, per protected copy, how much of the noise d that
difference still carries, as a projection (the share of d kept):

    kept = <J(x + d) - J(x), d> / <d, d>

1 where JPEG passes the noise untouched, 0 where it removes it, in RGB and in luma alone
(0.299 R + 0.587 G + 0.114 B, the channel JPEG quantises most gently and does not subsample).
`luma share` says how much of the noise's energy is luma (1: grey noise; 0: colour only), and
the RMS columns give the noise and what JPEG leaves of it in grey levels. JPEG is the defence's
own (OpenCV's encoder, `unseg_mm.datasets.defences.JPEGCompression`).

  python benchmarks/jpeg_survival.py [--quality 10] [--dirs DIR ...]

makes the protected copies of COPIES of the mini VOC with the tool (under
work_dirs/jpeg_survival, reused when complete; about 2 minutes on 2 CPU cores) - or measures the
VOC-format copies given with --dirs - and writes benchmarks/results/mini/jpeg_survival.{json,md}.
Deterministic.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from typing import List

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from separability import describe, voc_copy  # noqa: E402

LUMA_BGR = np.array([0.114, 0.587, 0.299])
# The copies measured by default: the bundled generator at its own 160 px windows (2.5 px per
# pattern pixel on the 160 x 128 mini images) and at 256 / 320 (4 / 5 px), its recipe with grey
# tiles at RMS 2, at 6, and at 2 with the image-dependent logits bounded, and with only the rest's
# tile grey, that with the image-dependent part softly capped (the suite's unseg_grey,
# unseg_grey_rms6, unseg_grey_bound1, unseg_grey_rest, unseg_grey_rest_cap3) in the
# same windows, the controls and the baselines, each
# with its defaults (the tool's arguments beside the budget)
GREY = osp.join(ROOT, 'checkpoints', 'unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-'
                'flat-texture-lr30-shift-{}-seed2-gain4.pth')


def grey(variant: str) -> List[str]:
    """The tool's arguments for the grey-tile generator ``variant`` in 160 px windows."""
    return ['--method', 'unseg', '--checkpoint', GREY.format(variant), '--pattern-window', '160']


COPIES = [('unseg', ['--method', 'unseg']),
          ('unseg_window256', ['--method', 'unseg', '--pattern-window', '256']),
          ('unseg_window320', ['--method', 'unseg', '--pattern-window', '320']),
          ('unseg_grey', grey('rms2-grey')), ('unseg_grey_rms6', grey('rms6-grey')),
          ('unseg_grey_bound1', grey('rms2-grey-bound1')),
          ('unseg_grey_rest', grey('rms2-greyrest')),
          ('unseg_grey_rest_cap3', grey('rms2-greyrest-cap3')),
          ('uniform', ['--method', 'uniform']), ('grating', ['--method', 'grating']),
          ('grating_grey16', ['--method', 'grating', '--method-options', 'period=16',
                              'grey=true']),
          ('grating_grey8', ['--method', 'grating', '--method-options', 'period=8',
                             'grey=true']),
          ('synper', ['--method', 'synper']), ('ar', ['--method', 'ar']),
          ('cuda', ['--method', 'cuda'])]


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (H x W x 3 uint8, BGR) through the suite's JPEG defence."""
    from unseg_mm.datasets.defences import JPEGCompression
    return JPEGCompression(quality).squeeze(image)


def survival(original: np.ndarray, protected: np.ndarray, quality: int = 10) -> dict:
    """What JPEG at ``quality`` keeps of the noise ``protected - original`` (both BGR uint8)."""
    if original.shape != protected.shape or original.dtype != np.uint8:
        raise ValueError(f'need two uint8 images of one shape, got {original.dtype} '
                         f'{original.shape} and {protected.dtype} {protected.shape}')
    d = protected.astype(np.float64) - original
    kept = jpeg(protected, quality).astype(np.float64) - jpeg(original, quality)
    energy = float((d * d).sum())
    if energy == 0:
        raise ValueError('the protected image equals the original: no noise to measure')
    d_luma, kept_luma = d @ LUMA_BGR, kept @ LUMA_BGR
    luma_energy = float((d_luma * d_luma).sum())
    return dict(kept=float((kept * d).sum()) / energy,
                kept_luma=float((kept_luma * d_luma).sum()) / luma_energy if luma_energy else 0.0,
                luma_share=3 * luma_energy / energy,
                rms=float(np.sqrt(energy / d.size)),
                rms_after=float(np.sqrt((kept * kept).mean())))


def measure_copy(out_root: str, quality: int = 10, name: str = '') -> dict:
    """:func:`survival`'s means over the protected training images of a VOC-format copy
    (named ``name``, else after its manifest's settings)."""
    import cv2
    settings, rels = voc_copy(out_root)
    rows = []
    for rel in rels:
        original = cv2.imread(osp.join(settings['src'], rel), cv2.IMREAD_COLOR)
        protected = cv2.imread(osp.join(out_root, rel), cv2.IMREAD_COLOR)
        if original is None or protected is None:
            raise FileNotFoundError(f'{rel}: unreadable in {settings["src"]} or {out_root}')
        rows.append(survival(original, protected, quality))
    if not name:
        name = describe(settings)
        if settings.get('pattern_window') is not None:
            name += f" window {settings['pattern_window']}"
    return dict(name=name, dir=osp.relpath(out_root, ROOT), quality=quality, images=len(rels),
                **{k: float(np.mean([r[k] for r in rows])) for k in rows[0]})


def make_copies(src: str, work_dir: str, eps: str) -> List[str]:
    """The protected copies of COPIES (made with the tool where not complete yet)."""
    from unseg_mm.apis.checkpoint import BUNDLED_GENERATOR
    from unseg_mm.apis.progress import complete_manifest
    dirs = []
    for name, args in COPIES:
        dst = osp.join(work_dir, name)
        if complete_manifest(dst) is None:
            if args[:2] == ['--method', 'unseg'] and '--checkpoint' not in args:
                args = args + ['--checkpoint', osp.join(ROOT, BUNDLED_GENERATOR)]
            command = [sys.executable, osp.join(ROOT, 'tools', 'protect_dataset.py'),
                       '--format', 'voc', '--src', src, '--dst', dst, '--eps', eps,
                       '--no-progress', *args]
            print(' '.join(command))
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        dirs.append(dst)
    return dirs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', default=osp.join(ROOT, 'data', 'mini', 'VOCdevkit', 'VOC2012'),
                        help='VOC-format dataset the copies are made of (default: the mini VOC)')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'jpeg_survival'),
                        help='where the protected copies go (kept: a re-run reuses them)')
    parser.add_argument('--eps', default='8/255', help='budget of every copy (the tool\'s --eps)')
    parser.add_argument('--dirs', nargs='*',
                        help='measure these protected VOC copies instead of making COPIES')
    parser.add_argument('--quality', type=int, default=10)
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results', 'mini'))
    args = parser.parse_args(argv)
    if args.dirs is None and not osp.isdir(args.src):
        raise SystemExit(f'{args.src}: no such dataset; make the mini datasets first '
                         '(python tools/make_mini_datasets.py --out data/mini) or give --src')
    dirs = args.dirs if args.dirs is not None else make_copies(args.src, args.work_dir, args.eps)
    from unseg_mm.apis.progress import complete_manifest
    rows = []
    for d in dirs:
        if complete_manifest(d) is None:
            raise SystemExit(f'{d}: no complete protected copy (no complete unseg_manifest.json)')
        # the copies of COPIES by their names there; others after their settings
        rows.append(measure_copy(d, args.quality, '' if args.dirs is not None else
                                 osp.basename(d)))
        print(f"{rows[-1]['name']}: kept {rows[-1]['kept']:.3f} (luma {rows[-1]['kept_luma']:.3f})")
    if not rows:
        raise SystemExit('no protected copies to measure')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'jpeg_survival.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    command = 'python benchmarks/jpeg_survival.py'
    if args.quality != 10:
        command += f' --quality {args.quality}'
    if args.eps != '8/255':
        command += f' --eps {args.eps}'
    lines = [f'## What JPEG quality {args.quality} keeps of the noise', '',
             f'Command: `{command}`' + ('' if args.dirs is None else ' --dirs ...'), '',
             'kept: <J(x + d) - J(x), d> / <d, d> for the noise d of each protected training '
             'image (1: untouched, 0: removed), in RGB and in luma; luma share: the share of '
             "the noise's energy in luma; RMS in grey levels (RMS after JPEG: of "
             'J(x + d) - J(x), which JPEG\'s requantisation makes non-zero even where the '
             'noise is removed). Means over the copy\'s training images; the copies are made '
             'with the tool at the budget given, on every pixel, of the mini VOC\'s 160 x 128 '
             'training images: unseg is the bundled generator in its own 160 px windows (2.5 px '
             'per pattern pixel), unseg_windowN the same with --pattern-window N (N / 64 px), '
             'unseg_grey, unseg_grey_rms6 and unseg_grey_bound1 its recipe with grey tiles at '
             'RMS 2, at RMS 6 and at RMS 2 over a bounded image-dependent part, unseg_grey_rest '
             'with only the rest\'s tile grey (unseg_grey_rest_cap3: with the image-dependent '
             'part softly capped at RMS 3) (the suite\'s methods of those names, in 160 px '
             'windows); grating_grey16 and grating_grey8 the grating in luma only at a 16 and '
             'an 8 px period; the others with their defaults.', '',
             '| protected copy | images | kept | kept, luma | luma share | RMS noise | '
             'RMS after JPEG |', '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['name']} | {r['images']} | {r['kept']:.3f} | {r['kept_luma']:.3f} | "
                     f"{r['luma_share']:.3f} | {r['rms']:.2f} | {r['rms_after']:.2f} |")
    with open(osp.join(args.out, 'jpeg_survival.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'wrote {osp.join(args.out, "jpeg_survival.md")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
