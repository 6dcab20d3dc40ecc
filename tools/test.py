"""Evaluate a checkpoint of any mmseg / mmdet / unseg_mm config with the mmengine Runner.

Multi-GPU: ``torchrun --nproc-per-node N tools/test.py CONFIG CKPT --launcher pytorch``.
"""
import argparse
import json

from unseg_mm.apis.runner import (add_runner_args, build_runner_cfg, parse_runner_args,
                                  run_testing)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a segmentor, detector or UnSeg surrogate')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='also write the metrics to this JSON file')
    add_runner_args(parser, 'test_dataloader.batch_size=1')
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = build_runner_cfg(
        args.config,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        checkpoint=args.checkpoint)
    metrics = run_testing(cfg)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2, sort_keys=True)
    return metrics


if __name__ == '__main__':
    main()
