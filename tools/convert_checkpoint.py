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
import os.path as osp

from unseg_mm.apis.checkpoint import META_KEYS, atomic_torch_save, load_generator, save_generator
from unseg_mm.models.generator import SAM_PREFIXES
from unseg_mm.models.sam_builder import load_state_dict_file

MODEL_PREFIXES = ('segmentor.', 'surrogate.')


def sam_from_model(src: str, dst: str, prefix: str = None) -> None:
    state = load_state_dict_file(src)
    prefixes = (prefix, ) if prefix else MODEL_PREFIXES
    for p in prefixes:
        sub = {k[len(p):]: v for k, v in state.items() if k.startswith(p)}
        if sub:
            break
    else:
        raise ValueError(f'{src!r} has no keys under {prefixes}; pass --prefix')
    sam = {k: v for k, v in sub.items() if k.startswith(SAM_PREFIXES)}
    if not sam:
        raise ValueError(f'{src!r} holds no SAM-architecture weights under {p!r}')
    atomic_torch_save({k: v.contiguous() for k, v in sam.items()}, dst)
    print(f'{len(sam)} SAM tensors from {src} -> {dst}')


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
    args = parser.parse_args(argv)

    if args.command == 'sam-from-model':
        sam_from_model(args.src, args.dst, args.prefix)
    elif args.command == 'release':
        generator = load_generator(args.src)
        save_generator(generator, args.dst, self_contained=True, source=osp.basename(args.src))
        print(f'release generator {args.src} -> {args.dst} (self-contained, legacy token slice)')
    else:
        generator = load_generator(args.src, sam_checkpoint=args.sam_checkpoint)
        meta = dict(generator.checkpoint_meta)
        sam_ref = args.sam_ref
        if sam_ref is None and generator.sam_checkpoint:
            sam_ref = osp.relpath(osp.abspath(generator.sam_checkpoint),
                                  osp.dirname(osp.abspath(args.dst)))
        extra = {k: v for k, v in meta.items() if k not in META_KEYS}
        save_generator(generator, args.dst, sam_checkpoint_ref=sam_ref, **extra)
        print(f'generator {args.src} -> {args.dst} (SAM: {sam_ref})')


if __name__ == '__main__':
    main()
