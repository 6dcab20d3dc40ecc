"""Convert checkpoints between the layouts unseg_mm reads and writes.

Sub-commands:
  sam-from-model   a runner checkpoint of a SAM-architecture model (InteractiveSegmentor,
                   UnSegBilevel's surrogate) -> SAM-layout weights (image_encoder./prompt_encoder./
                   mask_decoder.), the file a generator freezes (how checkpoints/sam_tiny_mini-hqseg.pth
                   is made)
  release          the UnSeg release's Generator_unseg_final.pth (SAM ViT-B + mask_decoder.noise_*)
                   -> a self-contained unseg_mm generator file (runs with the release's token
                   indexing)
  generator        re-write a generator file, e.g. to record its SAM file relative to a new folder

All inputs are read with torch.load(weights_only=True) or safetensors.
"""
import argparse

from unseg_mm.apis.checkpoint import convert_release, rewrite_generator, sam_from_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('sam-from-model', help='SAM-layout weights from a trained model')
    p.add_argument('src')
    p.add_argument('dst')
    p.add_argument('--prefix', help='key prefix of the SAM model (default: segmentor. / '
                   'surrogate.)')
    p = sub.add_parser('release', help='UnSeg release generator -> unseg_mm generator file')
    p.add_argument('src')
    p.add_argument('dst')
    p = sub.add_parser('generator', help='re-write a generator file')
    p.add_argument('src')
    p.add_argument('dst')
    p.add_argument('--sam-checkpoint', help='SAM weights of the generator (default: recorded)')
    p.add_argument('--sam-ref', help='how the new file refers to its SAM file (default: the '
                   'SAM path relative to the new file)')
    p.add_argument('--pattern-gain', type=float, help="multiply the decoder's pattern by this "
                   'before clipping to the budget (same weights; default: as recorded)')
    p.add_argument('--pattern-window', type=int, help='side in pixels of the windows the '
                   'generator is published in by default (the side of its training scenes; 0: '
                   'the whole image as one frame; default: as recorded)')
    args = parser.parse_args(argv)
    try:
        run(args)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        parser.exit(2, f'error: {exc}\n')


def run(args) -> None:
    if args.command == 'sam-from-model':
        count = sam_from_model(args.src, args.dst, args.prefix)
        print(f'{count} SAM tensors from {args.src} -> {args.dst}')
    elif args.command == 'release':
        convert_release(args.src, args.dst)
        print(f'release generator {args.src} -> {args.dst} (self-contained, legacy token slice)')
    else:
        sam_ref = rewrite_generator(args.src, args.dst, args.sam_checkpoint, args.sam_ref,
                                    args.pattern_gain, args.pattern_window)
        print(f'generator {args.src} -> {args.dst} (SAM: {sam_ref})')


if __name__ == '__main__':
    main()
