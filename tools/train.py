"""Train any mmseg / mmdet / unseg_mm config with the mmengine Runner.

OpenMMLab-style CLI (the union of mmseg 1.x's and mmdet 3.x's tools/train.py). Multi-GPU or
multi-node: ``torchrun --nproc-per-node N tools/train.py CONFIG --launcher pytorch``.
"""
import argparse

from unseg_mm.apis.runner import (add_runner_args, build_runner_cfg, parse_runner_args,
                                  run_training)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor, detector or UnSeg generator')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the latest checkpoint in the work dir (no value), '
        'or from the given checkpoint file')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision (GPU only)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate by the actual batch size (needs auto_scale_lr in the config)')
    add_runner_args(parser, 'train_cfg.max_iters=10 or key="[a,b]"; nested lists/tuples need '
                    'quotes and no spaces')
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = build_runner_cfg(
        args.config,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        amp=args.amp,
        resume=args.resume,
        auto_scale_lr=args.auto_scale_lr)
    run_training(cfg)


if __name__ == '__main__':
    main()
