"""Publish an unlearnable copy of a dataset: same layout, only the training images replaced.

Examples:
  python tools/protect_dataset.py --format voc --src data/VOCdevkit/VOC2012 \\
      --dst data/VOCdevkit/VOC2012_unseg --checkpoint G.pth
  # the paper's released budgets: 8/255 on the objects, 2/255 elsewhere (default: --eps everywhere)
  python tools/protect_dataset.py --format voc --src data/VOCdevkit/VOC2012 \\
      --dst data/VOCdevkit/VOC2012_unseg --checkpoint G.pth --eps 8/255 --eps-bg 2/255
  # several GPUs / machines: each process takes one shard
  torchrun --nproc-per-node 4 tools/protect_dataset.py --format coco_panoptic --src data/coco \\
      --dst data/coco_unseg --checkpoint G.pth --device cuda
  # a class-wise baseline instead of UnSeg (synper, ar, cuda), with its own options
  python tools/protect_dataset.py --format voc --src data/VOCdevkit/VOC2012 \\
      --dst data/VOCdevkit/VOC2012_ar --method ar --method-options eps2=1.0

Budgets are given as fractions of the intensity range: --eps 8/255 changes a uint8 pixel by at
most 8 grey levels. Exit status: 0 when every training image was published, 1 when some failed
(listed in the summary and in <dst>/unseg_manifest.json), 2 on a usage or setup error.

(The command line of ``tools/protect_dataset.py``, in the package so that the quickstart and the
benchmarks call it as a function.)
"""
import argparse
import logging
import os
import sys
from fractions import Fraction
from typing import List, Optional

from mmengine.config import DictAction

from .dataset_formats import FORMATS
from .methods import build_method, method_names
from .protect import (MULTI_OBJECT_RULES, PARITY_MODES, PATTERN_UPSAMPLING, PROMPT_TYPES,
                      ProtectConfig)
from .protect_dataset import MANIFEST, PREVIEW, Options, protect_dataset


def budget(text: str) -> float:
    """'8/255' or '0.0314' -> float in [0, 1]."""
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f'budget must look like 8/255 or 0.03, got {text!r}')
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f'budget {text} is outside [0, 1] (8/255 = 8 grey levels)')
    return value


def name_list(text: Optional[str]) -> Optional[List[str]]:
    """``a, b`` -> ``['a', 'b']`` (None or empty: None)."""
    return [name.strip() for name in text.split(',')] if text else None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='tools/protect_dataset.py',
                                     description=__doc__.split('\n\n(The command line')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--format', required=True, choices=sorted(FORMATS), dest='fmt')
    parser.add_argument('--src', required=True, help='dataset root (read only)')
    parser.add_argument('--dst', required=True, help='root of the protected copy')
    parser.add_argument('--method', default='unseg', choices=method_names(),
                        help='protection method (default unseg; synper, ar and cuda are the '
                        'class-wise baselines)')
    parser.add_argument('--method-options', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help="the method's own hyper-parameters, e.g. grid=8 (synper), eps2=1.0 "
                        '(ar), kernel=3 blur=0.3 (cuda)')
    parser.add_argument('--checkpoint', help='generator file (method unseg)')
    parser.add_argument('--sam-checkpoint', help='SAM weights of the generator (default: the '
                        'file recorded in the generator checkpoint)')
    parser.add_argument('--classes', help='comma-separated class names (or label ids) to protect; '
                        'other objects stay untouched (default: all)')
    parser.add_argument('--background-classes',
                        help='comma-separated classes (names, label ids, or "stuff": the '
                        "format's stuff classes) that are not prompted as objects but protected "
                        'as background; "none": every labelled region is prompted (default: '
                        '"stuff" on ade20k, cityscapes and coco_panoptic, where the union of all '
                        'labelled regions is (nearly) the whole frame, else none)')
    parser.add_argument('--eps', type=budget, default=Fraction(8, 255),
                        help='L-inf budget inside objects (default 8/255)')
    parser.add_argument('--eps-bg', type=budget, default=None,
                        help='L-inf budget elsewhere (default: the --eps budget, one budget on '
                        'every pixel; the paper\'s released scripts used 2/255, which leaves the '
                        'protection unlearned in our benchmarks: see the README)')
    parser.add_argument('--prompt', choices=PROMPT_TYPES, default='mask',
                        help='what the generator is prompted with (default mask)')
    parser.add_argument('--multi-object', choices=MULTI_OBJECT_RULES, default='union',
                        help='one prompt for all objects (union) or one pass per object')
    parser.add_argument('--pattern-upsample', choices=PATTERN_UPSAMPLING, default='bilinear',
                        help="how the generator's pattern is brought to the image size "
                        '(default bilinear; nearest: square edges, the full budget on every '
                        'pixel of a sign-alternating texture; unseg only)')
    parser.add_argument('--pattern-window', type=int, default=None,
                        help='side in pixels of the windows the generator sees; fixes the '
                        "pattern's scale in the published image whatever its size (default: "
                        "the generator's own, the side of its training scenes where its "
                        'checkpoint states one: 160 for the bundled generator; 0: the whole '
                        'image as one frame, as the reference); mask prompts; unseg only')
    parser.add_argument('--class-keyed', action='store_true',
                        help="give every class its own variant of the generator's pattern (one "
                        'more pass per class present; unseg only; see ProtectConfig.class_keyed)')
    parser.add_argument('--mix-clean-ratio', type=float, default=0.0,
                        help='fraction of training images published unchanged (default 0)')
    parser.add_argument('--jpeg-quality', type=int, default=None,
                        help='write JPEG at this quality instead of lossless PNG (weakens the '
                        'protection; the reference wrote JPEG q95)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per generator pass (1 reproduces the dataset transform '
                        'bit for bit; larger batches are faster on GPUs)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument('--bf16', action='store_true', help='run the generator in bfloat16')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-shards', type=int, default=None,
                        help='split the work into this many shards (default: WORLD_SIZE or 1)')
    parser.add_argument('--shard-id', type=int, default=None,
                        help='which shard this process runs (default: RANK or 0)')
    parser.add_argument('--parity', choices=PARITY_MODES, default='default',
                        help='reference: reproduce the official UnSeg generation script step by '
                             'step (byte-identical output with --batch-size 1; with '
                             '--jpeg-quality 95 also its JPEG files); default: our pipeline '
                             '(budget region = full-resolution object masks)')
    parser.add_argument('--num-threads', type=int, default=None,
                        help='CPU threads of the generator (default: those the destination was '
                             'started with, else torch\'s default); part of the numerical path')
    parser.add_argument('--allow-mixed-numerics', action='store_true',
                        help='go on although this run\'s numerical path (torch, device, dtype, '
                             'batch size, threads) differs from the one the destination was '
                             'started with; the manifest records each image\'s path')
    parser.add_argument('--workers', type=int, default=2,
                        help='threads that decode images ahead of the generator and encode, '
                        'verify, hash and write them behind it (default 2; 0: one step at a '
                        'time); the output does not depend on it')
    parser.add_argument('--preview', type=int, default=4,
                        help=f'images in <dst>/{PREVIEW} (0: none)')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    world = int(os.environ.get('WORLD_SIZE', 1))
    rank = int(os.environ.get('RANK', 0))
    num_shards = args.num_shards if args.num_shards is not None else world
    shard_id = args.shard_id if args.shard_id is not None else rank
    device = args.device
    if device == 'cuda' and 'LOCAL_RANK' in os.environ:
        device = f'cuda:{os.environ["LOCAL_RANK"]}'
    if args.jpeg_quality is not None:
        print(f'WARNING: writing JPEG (quality {args.jpeg_quality}); compression removes part of '
              f'the perturbation and weakens the protection. Omit --jpeg-quality for lossless '
              f'PNG.', file=sys.stderr)
    try:
        eps_bg = None if args.eps_bg is None else float(args.eps_bg)
        cfg = ProtectConfig(eps_object=float(args.eps), eps_background=eps_bg,
                            prompt_type=args.prompt, multi_object=args.multi_object,
                            seed=args.seed, device=device,
                            dtype='bfloat16' if args.bf16 else 'float32',
                            batch_size=args.batch_size, parity=args.parity,
                            class_keyed=args.class_keyed,
                            pattern_upsample=args.pattern_upsample,
                            pattern_window=args.pattern_window)
        opts = Options(fmt=args.fmt, src=args.src, dst=args.dst,
                       classes=name_list(args.classes),
                       background_classes=([] if args.background_classes == 'none'
                                           else name_list(args.background_classes)),
                       mix_clean_ratio=args.mix_clean_ratio, jpeg_quality=args.jpeg_quality,
                       num_shards=num_shards, shard_id=shard_id, preview=args.preview,
                       show_progress=not args.no_progress, num_threads=args.num_threads,
                       allow_mixed_numerics=args.allow_mixed_numerics, workers=args.workers)
        if args.method != 'unseg' and (args.checkpoint or args.sam_checkpoint or
                                       args.class_keyed or args.pattern_upsample != 'bilinear'
                                       or args.pattern_window is not None):
            raise ValueError(f'--checkpoint/--sam-checkpoint/--class-keyed/--pattern-upsample/'
                             f'--pattern-window are for --method unseg; {args.method!r} uses no '
                             f'generator')
        method = build_method(args.method, cfg, args.checkpoint, args.sam_checkpoint,
                              args.method_options)
        if method.needs_checkpoint:
            method.generator  # load now: a bad checkpoint is a setup error, before any work
        out = protect_dataset(opts, cfg, method)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    summary, manifest = out['summary'], out['manifest']
    print(f'shard {shard_id}/{num_shards}: {summary.total} training images, '
          f'{summary.written} protected, {summary.unchanged} published unchanged, '
          f'{summary.skipped} already done, {len(summary.failed)} failed; '
          f'{summary.seconds:.1f} s ({summary.images_per_second:.2f} images/s)')
    for failure in summary.failed:
        print(f'  FAILED {failure["path"]}: {failure["error"]}')
    if manifest is not None:
        print(f'manifest: {os.path.join(args.dst, MANIFEST)} ('
              f'{"complete" if manifest["complete"] else "INCOMPLETE"})')
        if manifest['numerics']['mixed']:
            print(f'note: images were computed on {len(manifest["numerics"]["paths"])} numerical '
                  f'paths (see "numerics" in the manifest)')
    return 1 if summary.failed else 0


if __name__ == '__main__':
    sys.exit(main())
