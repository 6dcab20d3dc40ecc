"""Pretrain the mini benchmark's backbone on the natural world's outline families.

The mini counterpart of an ImageNet checkpoint (see ``unseg_mm/datasets/pretraining.py``): a
half-width ResNet-18-V1c is trained to name the procedural outline family of object-centred
natural-world images (families disjoint from the benchmark's categories), and its weights are
written where the mini configs' ``init_cfg`` can load them.

    python tools/pretrain_mini_backbone.py --out checkpoints/r18v1c-half_mini-natural-pretrain.pth

Writes the checkpoint atomically (tensors only, with a JSON report beside it: val accuracy over
training, settings, time). Deterministic for a given seed and thread count.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time


# The backbone of configs/mini/deeplabv3_r18_mini-*.py (strides of an ImageNet classifier).
BACKBONE = dict(type='ResNetV1c', depth=18, stem_channels=32, base_channels=32, num_stages=4,
                out_indices=(3,), norm_cfg=dict(type='BN', requires_grad=True),
                norm_eval=False, style='pytorch', contract_dilation=True)
CHANNELS = 256


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True, help='checkpoint to write (.pth)')
    p.add_argument('--families', type=int, default=32, help='number of outline families')
    p.add_argument('--per-family', type=int, default=192, help='training images per family')
    p.add_argument('--val-per-family', type=int, default=16)
    p.add_argument('--size', type=int, default=64, help='image side, pixels')
    p.add_argument('--iters', type=int, default=3000)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from unseg_mm.datasets.pretraining import make_pretraining_set
    from unseg_mm.engine.pretraining import pretrain_backbone

    t0 = time.time()
    train = make_pretraining_set(args.families, args.per_family, args.size, seed=args.seed)
    val = make_pretraining_set(args.families, args.val_per_family, args.size,
                               seed=args.seed + 1000)
    render_s = time.time() - t0
    print(f'[pretrain] rendered {len(train[0])} train / {len(val[0])} val images '
          f'in {render_s:.0f} s')
    result = pretrain_backbone(BACKBONE, CHANNELS, train, val, iters=args.iters,
                               batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    meta = dict(result['meta'], families=args.families, per_family=args.per_family,
                size=args.size, backbone=BACKBONE, render_s=round(render_s, 1),
                total_s=round(time.time() - t0, 1), torch=torch.__version__,
                threads=torch.get_num_threads(),
                command='python tools/pretrain_mini_backbone.py ' + ' '.join(
                    argv if argv is not None else sys.argv[1:]))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.partial'
    # Stored in half precision (half the size in git); loading casts back to the model's dtype.
    state = {k: v.half() if v.is_floating_point() else v for k, v in result['state_dict'].items()}
    torch.save({'state_dict': state}, tmp)
    os.replace(tmp, args.out)
    report = osp.splitext(args.out)[0] + '.json'
    with open(report + '.partial', 'w') as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    os.replace(report + '.partial', report)
    print(f'[pretrain] wrote {args.out} and {report}; final val accuracy '
          f'{meta["history"][-1]["val_accuracy"]:.3f} (chance {meta["chance"]:.3f})')


if __name__ == '__main__':
    main()
