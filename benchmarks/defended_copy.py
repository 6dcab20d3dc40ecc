"""The defended copy of a protected dataset: what a trainer using an image defence trains on.

A benchmark tool, not a publishing one (a data owner never publishes a defended copy): it reads a
complete copy written by ``tools/protect_dataset.py``, applies an image defence of
``unseg_mm/datasets/defences.py`` to every training image of its manifest, and writes a new copy
(every other file copied byte for byte, the images as lossless PNG data under their names, each
written atomically). It records what it did in ``<dst>/unseg_defended.json`` (the defence, the
source manifest's SHA-256, per image the SHA-256 written and the largest change from the
protected image); the protection manifest is not copied, since its hashes describe the source.
A re-run skips images whose recorded output is still on disk, so an interrupted run resumes.

  python benchmarks/defended_copy.py --src data/voc_unseg --dst data/voc_unseg_jpeg10 \\
      --defence JPEGCompression --defence-options quality=10
"""
import argparse
import json
import os
import os.path as osp
import sys

import mmcv
import numpy as np
from mmengine.config import DictAction

from unseg_mm.apis.dataset_formats import list_files
from unseg_mm.apis.fileio import (atomic_write, check_source_and_destination,
                                  copy_unless_identical, file_sha256)
from unseg_mm.apis.progress import MANIFEST, PROGRESS_DIR
from unseg_mm.apis.writer import PREVIEW, check_lossless, encode_image

RECORD = 'unseg_defended.json'


def build_defence(cfg: dict):
    """The image defence transform of ``cfg``; anything else is an error naming the choices."""
    from mmengine.registry import TRANSFORMS

    import unseg_mm  # noqa: F401  (registers the defences)
    from unseg_mm.datasets.defences import ImageDefence
    try:
        transform = TRANSFORMS.build(dict(cfg))
    except KeyError as exc:
        raise ValueError(f'unknown defence {cfg["type"]!r} ({exc})') from None
    if not isinstance(transform, ImageDefence):
        raise ValueError(f'{cfg["type"]} is not an image defence (see '
                         f'unseg_mm/datasets/defences.py)')
    return transform


def defended_copy(src: str, dst: str, defence: dict) -> dict:
    """Write the defended copy of the protected copy ``src`` to ``dst``; returns the record."""
    manifest_path = osp.join(src, MANIFEST)
    if not osp.isfile(manifest_path):
        raise FileNotFoundError(f'{manifest_path!r} is missing: --src must be a copy written by '
                                f'tools/protect_dataset.py')
    with open(manifest_path) as f:
        manifest = json.load(f)
    if not manifest.get('complete'):
        raise ValueError(f'{src} is not a complete protected copy (see its manifest); finish it '
                         f'with tools/protect_dataset.py first')
    check_source_and_destination(src, dst)
    transform = build_defence(defence)
    record_path = osp.join(dst, RECORD)
    source_sha = file_sha256(manifest_path)
    old = {}
    if osp.isfile(record_path):
        with open(record_path) as f:
            previous = json.load(f)
        if previous['defence'] != defence or previous['source_manifest_sha256'] != source_sha:
            raise ValueError(f'{dst} holds another defended copy ({previous["defence"]} of '
                             f'manifest {previous["source_manifest_sha256"][:12]}); choose a new '
                             f'--dst')
        old = {e['path']: e for e in previous['images']}
    training = {e['path'] for e in manifest['images']}
    for rel in list_files(src):
        if rel in training or rel in (MANIFEST, PREVIEW) or rel.startswith(PROGRESS_DIR + os.sep):
            continue
        copy_unless_identical(osp.join(src, rel), osp.join(dst, rel))
    images = []
    for entry in manifest['images']:
        rel = entry['path']
        out = osp.join(dst, rel)
        done = old.get(rel)
        if done and osp.isfile(out) and file_sha256(out) == done['out_sha256']:
            images.append(done)
            continue
        protected = mmcv.imread(osp.join(src, rel), flag='color')
        image = transform(dict(img=protected.copy(), img_path=osp.join(src, rel)))['img']
        data = encode_image(image)
        check_lossless(data, image)
        atomic_write(out, data)
        change = int(np.abs(image.astype(np.int16) - protected.astype(np.int16)).max())
        images.append(dict(path=rel, status=entry['status'], max_change=change,
                           out_sha256=file_sha256(out)))
    record = dict(defence=defence, source=osp.abspath(src), source_manifest_sha256=source_sha,
                  images=images)
    atomic_write(record_path, json.dumps(record, indent=1, sort_keys=True).encode())
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', required=True, help='a protected copy (tools/protect_dataset.py)')
    parser.add_argument('--dst', required=True)
    parser.add_argument('--defence', required=True, metavar='TYPE',
                        help='JPEGCompression, GrayscaleDefence, BitDepthReduction, MedianFilter '
                             'or GaussianFilter')
    parser.add_argument('--defence-options', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE', help='e.g. quality=10 for JPEGCompression')
    args = parser.parse_args(argv)
    try:
        record = defended_copy(args.src, args.dst,
                               dict(type=args.defence, **args.defence_options))
    except (ValueError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'{len(record["images"])} training images defended with {record["defence"]} -> '
          f'{args.dst} (record: {RECORD})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
