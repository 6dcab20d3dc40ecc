"""Write the synthetic mini datasets in the real on-disk layouts (see unseg_mm.datasets.mini).

Example: ``python tools/make_mini_datasets.py --out data/mini --formats voc,coco --num-train 32``
"""
import argparse

from unseg_mm.datasets.mini import FORMATS, WORLD_CHOICE, make_mini_datasets
from unseg_mm.datasets.synthetic import WORLDS


def parse_size(text: str):
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must look like 128x160 (HxW), got {text!r}')
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError('size must be at least 32x32')
    return h, w


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--formats', default=','.join(FORMATS),
                        help=f'comma-separated subset of {",".join(FORMATS)} (default: all)')
    parser.add_argument('--num-train', type=int,
                        help='training images per format '
                        '(default 256; 64 for hqseg, 1024 for hqseg_natural)')
    parser.add_argument('--num-val', type=int,
                        help='validation images per format '
                        '(default 48; 16 for hqseg, 64 for hqseg_natural)')
    parser.add_argument('--size', type=parse_size, default=None,
                        help='HxW for every format (default: a per-format size, e.g. 128x160)')
    parser.add_argument('--seed', type=int, default=0, help='same seed -> byte-identical files')
    parser.add_argument('--world', choices=WORLDS,
                        help=f'paint {",".join(WORLD_CHOICE)} in this world instead of their '
                        'default (natural); e.g. cluttered: unlabelled near objects among the '
                        'labelled ones')
    parser.add_argument('--no-progress', action='store_true', help='do not draw a progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    formats = [f.strip() for f in args.formats.split(',') if f.strip()]
    try:
        roots = make_mini_datasets(args.out, formats, args.num_train, args.num_val, args.size,
                                   args.seed, show_progress=not args.no_progress,
                                   world=args.world)
    except (ValueError, NotADirectoryError) as err:
        raise SystemExit(f'error: {err}')
    for fmt, root in roots.items():
        print(f'{fmt:14s} {root}')


if __name__ == '__main__':
    main()
