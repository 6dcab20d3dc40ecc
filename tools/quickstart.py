"""The main job on the embedded default: protect the mini Pascal VOC training set with the bundled
tiny generator, exactly as a data owner would protect a real dataset.

1. writes the synthetic mini datasets to data/mini (if not there yet, or of an older world);
2. runs tools/protect_dataset.py --format voc on data/mini/VOCdevkit/VOC2012 with
   the bundled generator (unseg_mm.apis.checkpoint.BUNDLED_GENERATOR) at its defaults (8/255 on
   every pixel) into data/mini_unseg/VOCdevkit/VOC2012;
3. prints where the protected copy, its manifest and the preview grid are.
Then e.g.: python tools/train.py configs/mini/deeplabv3_r18_mini-voc.py \\
    --cfg-options train_dataloader.dataset.datasets.0.data_root=data/mini_unseg/VOCdevkit/VOC2012 \\
                  train_dataloader.dataset.datasets.1.data_root=data/mini_unseg/VOCdevkit/VOC2012
"""
import argparse
import os.path as osp
import sys

from unseg_mm.apis.checkpoint import BUNDLED_GENERATOR
from unseg_mm.datasets.mini import make_mini_datasets, mini_world_is_current

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GENERATOR = osp.join(ROOT, BUNDLED_GENERATOR)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default=osp.join(ROOT, 'data', 'mini'))
    parser.add_argument('--out', default=osp.join(ROOT, 'data', 'mini_unseg'))
    args = parser.parse_args(argv)
    voc = osp.join(args.data, 'VOCdevkit', 'VOC2012')
    if not mini_world_is_current(args.data):  # missing, or written by an older world version
        make_mini_datasets(args.data)
    from unseg_mm.apis.protect_cli import main as protect_main
    dst = osp.join(args.out, 'VOCdevkit', 'VOC2012')
    code = protect_main(['--format', 'voc', '--src', voc, '--dst', dst, '--checkpoint', GENERATOR])
    if code == 0:
        print(f'protected copy: {dst}\nmanifest:       {osp.join(dst, "unseg_manifest.json")}\n'
              f'preview:        {osp.join(dst, "unseg_preview.png")}')
    return code


if __name__ == '__main__':
    sys.exit(main())
