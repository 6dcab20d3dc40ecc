"""Does the generator make data unlearnable? Two measurements at tiny scale (CPU, minutes).

1. Error-minimising signature: the training loss of a fresh surrogate on protected images falls
   faster / lower than on clean images.
2. Unlearnability: that surrogate, evaluated on CLEAN validation images, scores markedly lower
   than one trained on clean images.

Both surrogates are configs/unseg/surrogate_tiny_mini-hqseg.py (same seed, same schedule); the
protected run inserts UnSegProtect (the generator, prompted with each object mask) right after
the mask is loaded. Writes benchmarks/results/generator_effect/{results.json,results.md}.

  python benchmarks/generator_effect.py --generator checkpoints/unseg_generator_tiny_mini-hqseg.pth
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time
from fractions import Fraction

import torch
from mmengine.runner import Runner

from unseg_mm.apis.config_utils import rebase_paths, with_protection
from unseg_mm.apis.runner import build_runner_cfg

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'unseg', 'surrogate_tiny_mini-hqseg.py')


def train_surrogate(work_dir: str, data_root: str, protection: dict = None, epochs: int = 30):
    cfg = build_runner_cfg(CONFIG, work_dir=work_dir)
    rebase_paths(cfg, 'data/mini/hqseg', data_root)
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.param_scheduler[0].T_max = epochs
    if protection is not None:
        cfg.train_dataloader.dataset = with_protection(cfg.train_dataloader.dataset, protection)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    seconds = time.time() - start
    losses = [float(v) for v in runner.message_hub.get_scalar('train/loss_mask').data[0]]
    metrics = runner.val_loop.run()
    return dict(losses=losses, clean_val_miou=float(metrics['mIoU']), seconds=seconds)


def summarize(losses, window=8):
    head = sum(losses[:window]) / min(window, len(losses))
    tail = sum(losses[-window:]) / min(window, len(losses))
    return dict(first=head, last=tail)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--generator', default='checkpoints/unseg_generator_tiny_mini-hqseg.pth')
    parser.add_argument('--data-root', default='data/mini/hqseg')
    parser.add_argument('--eps', default='8/255')
    parser.add_argument('--eps-bg', default='2/255')
    parser.add_argument('--epochs', type=int, default=30)
    parser.add_argument('--work-dir', default='work_dirs/generator_effect')
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results', 'generator_effect'))
    args = parser.parse_args(argv)
    if not osp.isdir(args.data_root):
        sys.exit(f'{args.data_root} not found; run tools/make_mini_datasets.py --out data/mini')
    protection = dict(type='UnSegProtect', checkpoint=args.generator,
                      eps_object=float(Fraction(args.eps)),
                      eps_background=float(Fraction(args.eps_bg)),
                      background_labels=(0, ))  # LoadBinaryMask: 0 background, 1 object
    clean = train_surrogate(osp.join(args.work_dir, 'clean'), args.data_root, None, args.epochs)
    protected = train_surrogate(osp.join(args.work_dir, 'unseg'), args.data_root, protection,
                                args.epochs)
    result = dict(
        generator=args.generator, eps_object=args.eps, eps_background=args.eps_bg,
        epochs=args.epochs, clean=clean, unseg=protected,
        loss_clean=summarize(clean['losses']), loss_unseg=summarize(protected['losses']),
        hardware=dict(cpu=platform.processor() or platform.machine(),
                      threads=torch.get_num_threads(), torch=torch.__version__))
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
    lines = [
        '| training data | train loss, first 8 iters | train loss, last 8 iters | '
        'clean val mIoU (object/background) |', '|---|---|---|---|']
    for name in ('clean', 'unseg'):
        r, s = result[name], result[f'loss_{name}']
        lines.append(f'| {name} | {s["first"]:.3f} | {s["last"]:.3f} | '
                     f'{r["clean_val_miou"]:.1f} |')
    lines.append('')
    lines.append(f'Fresh tiny SAM-architecture surrogate (128 px), {args.epochs} epochs on the mini '
                 f'HQSeg training set ({torch.get_num_threads()} CPU threads, torch '
                 f'{torch.__version__}); protection eps {args.eps} / {args.eps_bg} with '
                 f'{osp.basename(args.generator)}. Command: python benchmarks/generator_effect.py')
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
