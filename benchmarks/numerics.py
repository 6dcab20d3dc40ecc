"""How much the published pixels depend on the numerical path (threads, batch, shards, dtype).

Protects the same dataset with ``tools/protect_dataset.py`` once per numerical path (each in a
fresh process, the thread count set with ``--num-threads``) and compares every published image
with the reference path's: the share of images and of pixels (channel values) that differ and
the largest difference in grey levels. Writes
``benchmarks/results/numerics/<device>/{results.json,results.md}``.

  python benchmarks/numerics.py                       # mini VOC, bundled generator, CPU
  python benchmarks/numerics.py --src data/mini/VOCdevkit/VOC2012 --format voc \\
      --checkpoint checkpoints/unseg_generator_tiny_mini-hqseg.pth

Paths (reference first): 2 threads batch 1; 1 thread batch 1 (what ``torchrun`` gives each
process); 2 threads batch 4; two shards on the reference's path; bfloat16 (2 threads, batch 1).
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import tempfile

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PATHS = [
    dict(name='2 threads, batch 1 (reference)', threads=2, batch=1, shards=1),
    dict(name='1 thread, batch 1', threads=1, batch=1, shards=1),
    dict(name='2 threads, batch 4', threads=2, batch=4, shards=1),
    dict(name='2 shards (same path: 2 threads, batch 1)', threads=2, batch=1, shards=2),
    dict(name='bfloat16, 2 threads, batch 1', threads=2, batch=1, shards=1, bf16=True),
]


def protect(args, path: dict, dst: str) -> None:
    for shard in range(path['shards']):
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'protect_dataset.py'), '--format',
               args.format, '--src', args.src, '--dst', dst, '--checkpoint', args.checkpoint,
               '--batch-size', str(path['batch']), '--num-threads', str(path['threads']),
               '--num-shards', str(path['shards']), '--shard-id', str(shard), '--no-progress',
               '--preview', '0']
        if path.get('bf16'):
            cmd.append('--bf16')
        env = {k: v for k, v in os.environ.items() if k not in ('WORLD_SIZE', 'RANK')}
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)


def compare(ref: str, other: str) -> dict:
    """Image-by-image difference of two protected copies (their manifests list the images)."""
    import cv2
    with open(osp.join(ref, 'unseg_manifest.json')) as f:
        images = [e['path'] for e in json.load(f)['images'] if e['status'] == 'protected']
    differ, values, changed, worst = 0, 0, 0, 0
    for rel in images:
        a = cv2.imread(osp.join(ref, rel), cv2.IMREAD_UNCHANGED).astype(np.int16)
        b = cv2.imread(osp.join(other, rel), cv2.IMREAD_UNCHANGED).astype(np.int16)
        diff = np.abs(a - b)
        values += diff.size
        changed += int((diff > 0).sum())
        worst = max(worst, int(diff.max()))
        differ += bool(diff.any())
    return dict(images=len(images), images_differing=differ, values=values,
                values_differing=changed, max_abs_diff=worst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--format', default='voc')
    parser.add_argument('--src', default=osp.join(ROOT, 'data', 'mini', 'VOCdevkit', 'VOC2012'))
    parser.add_argument('--checkpoint',
                        default=osp.join(ROOT, 'checkpoints',
                                         'unseg_generator_tiny_mini-hqseg.pth'))
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results', 'numerics',
                                                  'cpu'))
    parser.add_argument('--work', default=None, help='where the copies go (default: a temp dir)')
    args = parser.parse_args()
    import torch
    work = args.work or tempfile.mkdtemp(prefix='unseg_numerics_')
    rows = []
    for i, path in enumerate(PATHS):
        dst = osp.join(work, f'path{i}')
        if not osp.isfile(osp.join(dst, 'unseg_manifest.json')):
            protect(args, path, dst)
        row = dict(path)
        if i:
            row.update(compare(osp.join(work, 'path0'), dst))
        rows.append(row)
        print(row, flush=True)
    machine = dict(machine=platform.machine(), processor=platform.processor(),
                   cpu_capability=torch.backends.cpu.get_cpu_capability(),
                   torch=torch.__version__, cores=os.cpu_count())
    result = dict(dataset=osp.relpath(osp.abspath(args.src), ROOT), format=args.format,
                  checkpoint=osp.relpath(osp.abspath(args.checkpoint), ROOT), machine=machine,
                  rows=rows)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
    lines = [f'Numerical paths vs the reference ({rows[0]["name"]}); {result["dataset"]}, '
             f'{result["checkpoint"]}; torch {machine["torch"]}, {machine["machine"]} '
             f'({machine["cpu_capability"]}), {machine["cores"]} cores. Command: '
             f'`python benchmarks/numerics.py`', '',
             '| path | images differing | channel values differing | max abs diff (grey levels) |',
             '|---|---|---|---|']
    for row in rows[1:]:
        lines.append(f'| {row["name"]} | {row["images_differing"]} / {row["images"]} | '
                     f'{row["values_differing"]} / {row["values"]} '
                     f'({100 * row["values_differing"] / max(1, row["values"]):.2g} %) | '
                     f'{row["max_abs_diff"]} |')
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
