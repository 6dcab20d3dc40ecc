"""Does the generator make data unlearnable? Two measurements at tiny scale (CPU, minutes).

1. Error-minimising signature: the training loss of a fresh surrogate on protected images falls
   faster / lower than on clean images.
2. Unlearnability: that surrogate, evaluated on CLEAN validation images, scores markedly lower
   than one trained on clean images.

Every surrogate is configs/unseg/surrogate_tiny_mini-hqseg.py (same seed, same schedule); a
protected run inserts UnSegProtect (the generator prompted with each object mask, or the
``grating`` calibration shortcut) right after the mask is loaded. Each budget is run for both:
the grating says what the easiest fixed pattern of that budget does to this surrogate, so the
generator's rows read against it. Background budget = object budget x ``--bg-ratio``. Writes
benchmarks/results/generator_effect/{results.json,results.md}.

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
METHODS = ('unseg', 'grating')


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


def protection(method: str, generator: str, eps: Fraction, eps_bg: Fraction) -> dict:
    cfg = dict(type='UnSegProtect', method=method, eps_object=float(eps),
               eps_background=float(eps_bg),
               background_labels=(0, ))  # LoadBinaryMask: 0 background, 1 object
    if method == 'unseg':
        cfg['checkpoint'] = generator
    return cfg


def table(result: dict) -> str:
    clean = result['runs']['clean']
    lines = [
        '| training data | budget (object / elsewhere) | train loss, first 8 iters | '
        'train loss, last 8 iters | clean val mIoU (object/background) | mIoU / clean |',
        '|---|---|---|---|---|---|']
    for name, run in result['runs'].items():
        loss = summarize(run['losses'])
        budget = '-' if name == 'clean' else f'{run["eps_object"]} / {run["eps_background"]}'
        lines.append(f'| {run["method"]} | {budget} | {loss["first"]:.3f} | {loss["last"]:.3f} | '
                     f'{run["clean_val_miou"]:.1f} | '
                     f'{run["clean_val_miou"] / clean["clean_val_miou"]:.2f} |')
    hw = result['hardware']
    lines += ['', f'Fresh tiny SAM-architecture surrogate (128 px), {result["epochs"]} epochs on '
              f'the mini HQSeg training set (64 images), evaluated with box prompts on the clean '
              f'validation images; {hw["cpu"]}, {hw["threads"]} threads, torch {hw["torch"]}. '
              f'unseg: {osp.basename(result["generator"])}; grating: the calibration shortcut '
              f'(one square-wave grating for the object, another elsewhere). '
              f'Command: python benchmarks/generator_effect.py']
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--generator', default='checkpoints/unseg_generator_tiny_mini-hqseg.pth')
    parser.add_argument('--data-root', default='data/mini/hqseg')
    parser.add_argument('--eps', nargs='+', default=['8/255', '16/255', '32/255'],
                        help='object budgets, e.g. 8/255')
    parser.add_argument('--bg-ratio', type=float, default=0.25,
                        help='background budget as a fraction of the object budget')
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--epochs', type=int, default=30)
    parser.add_argument('--work-dir', default='work_dirs/generator_effect')
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results', 'generator_effect'))
    args = parser.parse_args(argv)
    if not osp.isdir(args.data_root):
        sys.exit(f'{args.data_root} not found; run tools/make_mini_datasets.py --out data/mini')
    runs = dict(clean=dict(method='clean', **train_surrogate(
        osp.join(args.work_dir, 'clean'), args.data_root, None, args.epochs)))
    for eps in map(Fraction, args.eps):
        bg = eps * Fraction(args.bg_ratio)
        for method in args.methods:
            name = f'{method}@{eps.numerator}/{eps.denominator}'
            run = train_surrogate(osp.join(args.work_dir, name.replace('/', '_')), args.data_root,
                                  protection(method, args.generator, eps, bg), args.epochs)
            runs[name] = dict(method=method, eps_object=f'{eps}',
                              eps_background=f'{float(bg * 255):g}/255', **run)
    result = dict(generator=args.generator, epochs=args.epochs, runs=runs,
                  hardware=dict(cpu=platform.processor() or platform.machine(),
                                threads=torch.get_num_threads(), torch=torch.__version__))
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
    text = table(result)
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
