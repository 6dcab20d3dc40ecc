"""Protection speed and memory: the generator's pure forward pass, protect() and the offline tool.

For each architecture (tiny at its 256 px frame on 160x128 images, ViT-B at its 1024 px frame on
1024x768 images) and batch size, in a fresh subprocess per cell (so peak memory is that cell's):
* forward: ms per image of ``generator(images, prompts)`` alone;
* protect: ms per image of ``protect()`` (resize/pad, prompts, forward, budget, uint8 rounding);
* tool: images/s of ``tools/protect_dataset.py`` on a mini VOC set of that image size (adds
  decoding, annotation loading, PNG encoding, hashing and the manifest);
* peak memory: max RSS of the process (CPU) or max allocated GPU memory (CUDA).
ViT-B uses random weights in SAM's exact architecture (speed does not depend on the values).
Writes benchmarks/results/throughput/<device>/{results.json,results.md}.

  python benchmarks/throughput.py                 # CPU: tiny at 1, 4, 8; ViT-B at 1, 2
  python benchmarks/throughput.py --device cuda --vitb-batches 1 4 8 16
"""
import argparse
import json
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGE_SIZE = {'tiny': (128, 160), 'vit_b': (768, 1024)}


def _generator_file(arch: str, work: str) -> str:
    import torch
    from unseg_mm.apis.checkpoint import save_generator
    from unseg_mm.models import SAMSurrogate, UnSegGenerator
    from unseg_mm.apis.checkpoint import sam_state_dict_from
    if arch == 'tiny':
        return osp.join(ROOT, 'checkpoints', 'unseg_generator_tiny_mini-hqseg.pth')
    path = osp.join(work, f'generator_{arch}.pth')
    if not osp.isfile(path):
        torch.manual_seed(0)
        sam = osp.join(work, f'sam_{arch}_random.pth')
        torch.save(sam_state_dict_from(SAMSurrogate(arch=arch)), sam)
        save_generator(UnSegGenerator(arch=arch, sam_checkpoint=sam), path)
    return path


def run_cell(arch: str, batch: int, device: str, work: str, repeats: int) -> dict:
    """One measurement, in this process (called in a subprocess by main)."""
    import numpy as np
    import torch
    from unseg_mm.apis.checkpoint import load_generator
    from unseg_mm.apis.protect import ImagePrompts, ProtectConfig, protect
    from unseg_mm.datasets.mini import make_mini_datasets
    from unseg_mm.models.prompts import Prompts

    generator = load_generator(_generator_file(arch, work), device=device)
    frame = generator.img_size
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    x = torch.rand(batch, 3, frame, frame, device=device)
    masks = torch.zeros(batch, 1, frame, frame, device=device)
    masks[:, :, frame // 4:3 * frame // 4, frame // 4:3 * frame // 4] = 1
    with torch.no_grad():
        generator(x, Prompts(masks=masks))  # warm-up
        sync()
        start = time.perf_counter()
        for _ in range(repeats):
            generator(x, Prompts(masks=masks))
        sync()
    forward_ms = 1000 * (time.perf_counter() - start) / (repeats * batch)

    h, w = IMAGE_SIZE[arch]
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(batch)]
    obj = np.zeros((h, w), bool)
    obj[h // 4:3 * h // 4, w // 4:3 * w // 4] = True
    prompts = [ImagePrompts(objects=[obj])] * batch
    cfg = ProtectConfig(device=device, batch_size=batch)
    keys = [f'{i}.jpg' for i in range(batch)]
    protect(images, prompts, generator, cfg, keys)
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        protect(images, prompts, generator, cfg, keys)
    sync()
    protect_ms = 1000 * (time.perf_counter() - start) / (repeats * batch)

    data = osp.join(work, f'voc_{h}x{w}')
    num_images = max(2 * batch, 4) if arch == 'vit_b' else 32
    if not osp.isdir(data):
        make_mini_datasets(data, ['voc'], num_train=num_images, num_val=1, size=(h, w),
                           show_progress=False)
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    from protect_dataset import main as tool_main
    dst = tempfile.mkdtemp(dir=work)
    start = time.perf_counter()
    code = tool_main(['--format', 'voc', '--src', osp.join(data, 'VOCdevkit', 'VOC2012'),
                      '--dst', osp.join(dst, 'voc'), '--checkpoint', _generator_file(arch, work),
                      '--device', device, '--batch-size', str(batch), '--no-progress',
                      '--preview', '0'])
    tool_seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError('the offline tool failed')
    with open(osp.join(dst, 'voc', 'unseg_manifest.json')) as f:
        protected = json.load(f)['counts']['protected']
    if device.startswith('cuda'):
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(arch=arch, batch=batch, device=device, frame=frame, image=f'{w}x{h}',
                forward_ms_per_image=forward_ms, protect_ms_per_image=protect_ms,
                tool_images_per_s=protected / tool_seconds, tool_images=protected,
                tool_ms_per_image=1000 * tool_seconds / protected,
                tool_over_forward=(1000 * tool_seconds / protected) / forward_ms,
                peak_memory_mb=peak_mb)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--tiny-batches', type=int, nargs='+', default=[1, 4, 8])
    parser.add_argument('--vitb-batches', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'throughput'))
    parser.add_argument('--out', default=None)
    parser.add_argument('--table-only', action='store_true',
                        help='rewrite results.md from the existing results.json')
    parser.add_argument('--cell', nargs=2, metavar=('ARCH', 'BATCH'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    default_out = osp.join(ROOT, 'benchmarks', 'results', 'throughput',
                           'cuda' if args.device.startswith('cuda') else 'cpu')
    if args.table_only:
        write_table(args.out or default_out)
        return
    os.makedirs(args.work_dir, exist_ok=True)
    if args.cell:
        print('RESULT ' + json.dumps(run_cell(args.cell[0], int(args.cell[1]), args.device,
                                              args.work_dir, args.repeats)))
        return
    import torch
    rows = []
    cells = [('tiny', b) for b in args.tiny_batches] + [('vit_b', b) for b in args.vitb_batches]
    for arch, batch in cells:
        proc = subprocess.run([sys.executable, __file__, '--cell', arch, str(batch), '--device',
                               args.device, '--repeats', str(args.repeats), '--work-dir',
                               args.work_dir], capture_output=True, text=True, cwd=ROOT)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
        if proc.returncode != 0 or not lines:
            sys.exit(f'cell {arch} x{batch} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}')
        rows.append(json.loads(lines[-1][len('RESULT '):]))
        print(rows[-1])
    device_name = torch.cuda.get_device_name() if args.device.startswith('cuda') else \
        f'{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores'
    out = args.out or default_out
    os.makedirs(out, exist_ok=True)
    meta = dict(device=device_name, torch=torch.__version__, threads=torch.get_num_threads(),
                command=f'python benchmarks/throughput.py --device {args.device}')
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    write_table(out)


def write_table(out: str) -> None:
    """results.md from results.json (re-run alone with --table-only)."""
    with open(osp.join(out, 'results.json')) as f:
        results = json.load(f)
    meta, rows = results['meta'], results['rows']
    lines = ['| generator | frame | image | batch | forward ms/img | protect() ms/img | '
             'tool img/s | tool / forward | peak memory MB |', '|---' * 9 + '|']
    for r in rows:
        lines.append(f'| {r["arch"]} | {r["frame"]} | {r["image"]} | {r["batch"]} | '
                     f'{r["forward_ms_per_image"]:.1f} | {r["protect_ms_per_image"]:.1f} | '
                     f'{r["tool_images_per_s"]:.3g} | {r["tool_over_forward"]:.2f} | '
                     f'{r["peak_memory_mb"]:.0f} |')
    lines += ['', f'{meta["device"]}, {meta["threads"]} threads; torch {meta["torch"]}. '
              f'"tool / forward": the offline tool\'s time per image over the generator\'s pure '
              f'forward time. Command: {meta["command"]}']
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))

if __name__ == '__main__':
    main()
