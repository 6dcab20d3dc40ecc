"""Protection speed and memory: the generator's pure forward pass, protect() and the offline tool.

For each architecture (tiny at its 256 px frame on 160x128 images, ViT-B at its 1024 px frame on
1024x768 images), dtype (float32, bfloat16 autocast) and batch size, in a fresh subprocess per
cell (so peak memory is that cell's):
* forward: ms per image of ``generator(images, prompts)`` alone;
* protect: ms per image of ``protect()`` (resize/pad, prompts, forward, budget, uint8 rounding);
* tool: images/s of ``tools/protect_dataset.py`` on a mini VOC set of that image size (128
  images for tiny; adds start-up, decoding, annotation loading, PNG encoding, verification,
  hashing, writing and the manifest), serial (``--workers 0``) and pipelined (``--workers 2``),
  with each stage's share of the pipelined run's time (from the shard summary);
* bf16 vs float32: max |difference| in grey levels of the published pixels;
* peak memory: max RSS of the process (CPU) or max allocated GPU memory (CUDA).
ViT-B uses random weights in SAM's exact architecture (speed does not depend on the values).
Writes benchmarks/results/throughput/<device>/{results.json,results.md}.

  python benchmarks/throughput.py --vitb-dtypes float32   # CPU: tiny at 1, 4, 8; ViT-B at 1, 2
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
from typing import Optional

from numerics import compare  # benchmarks/numerics.py: image-by-image difference of two copies

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGE_SIZE = {'tiny': (128, 160), 'vit_b': (768, 1024)}
STEADY_FACTOR = 4


def cpu_model() -> str:
    """The CPU's model name and its vector / matrix extensions (bf16 speed depends on them: on a
    CPU without AVX512-BF16 or AMX, bfloat16 autocast is emulated and slower than float32)."""
    from unseg_mm.apis.progress import cpu_isa_flags
    name = 'CPU'
    try:
        with open('/proc/cpuinfo') as f:
            name = next(line.split(':', 1)[1].strip() for line in f
                        if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    # 'smep' (an x86 protection bit) matches the ARM 'sme' prefix there; the pinned numerical
    # paths keep it (constant per host), the description here does not
    flags = [f for f in cpu_isa_flags() or [] if f != 'smep']
    return f'{name} [{" ".join(flags) if flags else "no AVX-512 / AMX"}]'


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


def _tool_run(src: str, dst: str, generator: str, device: str, batch: int, workers: int,
              dtype: str) -> dict:
    """Time the offline tool on ``src``; returns its seconds, images and stage seconds."""
    from unseg_mm.apis.protect_cli import main as tool_main
    start = time.perf_counter()
    code = tool_main(['--format', 'voc', '--src', src, '--dst', dst, '--checkpoint', generator,
                      '--device', device, '--batch-size', str(batch), '--no-progress',
                      '--preview', '0', '--workers', str(workers)]
                     + (['--bf16'] if dtype == 'bfloat16' else []))
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError('the offline tool failed')
    with open(osp.join(dst, 'unseg_manifest.json')) as f:
        protected = json.load(f)['counts']['protected']
    with open(osp.join(dst, '.unseg_progress', 'shard-0000-of-0001.done.json')) as f:
        stages = json.load(f)['stage_seconds']
    return dict(seconds=seconds, images=protected, stages=stages)


def run_cell(arch: str, batch: int, device: str, work: str, repeats: int, dtype: str,
             tool_images: int = 128, rounds: int = 3, min_seconds: float = 1.0,
             steady_factor: Optional[int] = None) -> dict:
    """One measurement, in this process (called in a subprocess by main).

    ``steady_factor``: the size of the steady-state run's set over the small one's (1: none;
    default 4 for the tiny generator and on a GPU, 1 for ViT-B on a CPU, where it would take
    many minutes)."""
    if steady_factor is None:
        steady_factor = STEADY_FACTOR if arch == 'tiny' or device.startswith('cuda') else 1
    import numpy as np
    import torch
    from contextlib import nullcontext
    from unseg_mm.apis.checkpoint import load_generator
    from unseg_mm.apis.protect import ImagePrompts, ProtectConfig, protect
    from unseg_mm.datasets.mini import make_mini_datasets
    from unseg_mm.models.prompts import Prompts

    generator_file = _generator_file(arch, work)
    generator = load_generator(generator_file, device=device)
    frame = generator.img_size
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    autocast = torch.autocast(torch.device(device).type, dtype=torch.bfloat16) \
        if dtype == 'bfloat16' else nullcontext()
    x = torch.rand(batch, 3, frame, frame, device=device)
    masks = torch.zeros(batch, 1, frame, frame, device=device)
    masks[:, :, frame // 4:3 * frame // 4, frame // 4:3 * frame // 4] = 1

    def ms_per_image(step) -> float:
        """ms per image of ``step()`` (one batch): ``repeats`` batches, and at least
        ``min_seconds``."""
        sync()
        start, done = time.perf_counter(), 0
        while done < repeats or time.perf_counter() - start < min_seconds:
            step()
            sync()
            done += 1
        return 1000 * (time.perf_counter() - start) / (done * batch)

    def forward():
        with torch.no_grad(), autocast:
            generator(x, Prompts(masks=masks), region=masks)

    forward()  # warm-up
    forward_ms = [ms_per_image(forward)]

    h, w = IMAGE_SIZE[arch]
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(batch)]
    obj = np.zeros((h, w), bool)
    obj[h // 4:3 * h // 4, w // 4:3 * w // 4] = True
    prompts = [ImagePrompts(objects=[obj])] * batch
    cfg = ProtectConfig(device=device, batch_size=batch, dtype=dtype)
    keys = [f'{i}.jpg' for i in range(batch)]
    protect(images, prompts, generator, cfg, keys)  # warm-up
    protect_ms = ms_per_image(lambda: protect(images, prompts, generator, cfg, keys))

    # The tool on a mini VOC set of that image size: one step at a time (--workers 0, the
    # tool before pipelining) and pipelined (--workers 2, the default).
    num_images = max(2 * batch, 4) if arch == 'vit_b' else tool_images

    def dataset(count: int) -> str:
        data = osp.join(work, f'voc_{h}x{w}_{count}')
        if not osp.isfile(osp.join(data, 'mini_world.json')):
            make_mini_datasets(data, ['voc'], num_train=count, num_val=1, size=(h, w),
                               show_progress=False)
        return osp.join(data, 'VOCdevkit', 'VOC2012')

    src = dataset(num_images)
    # Steady state: the pipelined tool also runs on a set ``steady_factor`` times as large; the
    # extra images over the extra time is its rate once started (what a large dataset sees),
    # and the rest of the small run's time is its start-up (loading, listing, first batch).
    big = dataset(num_images * steady_factor) if steady_factor > 1 else None
    # Rounds: each times the bare forward pass, then the tool, so that every tool / forward
    # ratio compares two figures taken moments apart (on a shared machine the speed of both
    # drifts by tens of per cent over minutes); the row reports medians over the rounds.
    runs, outputs = {0: [], 2: []}, {}
    for _ in range(rounds):
        for workers in (0, 2):
            fwd = ms_per_image(forward)
            forward_ms.append(fwd)
            outputs[workers] = osp.join(tempfile.mkdtemp(dir=work), 'voc')
            run = _tool_run(src, outputs[workers], generator_file, device, batch, workers, dtype)
            run['ms'] = 1000 * run['seconds'] / run['images']
            run['over_forward'] = run['ms'] / fwd
            if workers == 2 and big:
                large = _tool_run(big, osp.join(tempfile.mkdtemp(dir=work), 'voc'),
                                  generator_file, device, batch, workers, dtype)
                run['steady_ms'] = 1000 * (large['seconds'] - run['seconds']) / \
                    (large['images'] - run['images'])
                run['steady_over_forward'] = run['steady_ms'] / fwd
                run['startup_s'] = run['seconds'] - run['images'] * run['steady_ms'] / 1000
            runs[workers].append(run)
    row = dict(arch=arch, batch=batch, device=device, dtype=dtype, frame=frame,
               image=f'{w}x{h}', forward_ms_per_image=float(np.median(forward_ms)),
               protect_ms_per_image=protect_ms, tool_images=runs[2][0]['images'],
               tool_rounds=rounds)
    for workers, done in runs.items():
        ms = float(np.median([run['ms'] for run in done]))
        ratios = [run['over_forward'] for run in done]
        row[f'tool_w{workers}_ms_per_image'] = ms
        row[f'tool_w{workers}_images_per_s'] = 1000 / ms
        row[f'tool_w{workers}_over_forward'] = float(np.median(ratios))
        row[f'tool_w{workers}_over_forward_range'] = [min(ratios), max(ratios)]
        if 'steady_ms' in done[0]:
            steady = [run['steady_over_forward'] for run in done]
            row[f'tool_w{workers}_steady_ms_per_image'] = float(
                np.median([run['steady_ms'] for run in done]))
            row[f'tool_w{workers}_steady_over_forward'] = float(np.median(steady))
            row[f'tool_w{workers}_steady_over_forward_range'] = [min(steady), max(steady)]
            row[f'tool_w{workers}_startup_s'] = float(
                np.median([run['startup_s'] for run in done]))
            row['steady_images'] = num_images * steady_factor
        stages = {}
        for run in done:
            for k, v in run['stages'].items():
                stages[k] = stages.get(k, 0.0) + v
        total = sum(stages.values()) or 1.0
        row[f'stages_w{workers}'] = {k: v / total for k, v in sorted(stages.items())}
    if dtype == 'bfloat16':
        # the same dataset in float32: how far the bf16 pixels are from it
        reference = osp.join(tempfile.mkdtemp(dir=work), 'voc')
        _tool_run(src, reference, generator_file, device, batch, 2, 'float32')
        diff = compare(reference, outputs[2])
        row['bf16_vs_float32'] = dict(max_abs=diff['max_abs_diff'],
                                      share=diff['values_differing'] / max(diff['values'], 1))
    if device.startswith('cuda'):
        row['peak_memory_mb'] = torch.cuda.max_memory_allocated() / 2**20
    else:
        row['peak_memory_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--tiny-batches', type=int, nargs='+', default=[1, 4, 8])
    parser.add_argument('--vitb-batches', type=int, nargs='*', default=[1, 2],
                        help='batch sizes of the ViT-B cells (none: no ViT-B cell)')
    parser.add_argument('--dtypes', nargs='+', default=['float32', 'bfloat16'],
                        choices=['float32', 'bfloat16'])
    parser.add_argument('--vitb-dtypes', nargs='+', default=None,
                        choices=['float32', 'bfloat16'],
                        help='dtypes of the ViT-B cells (default: --dtypes)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='batches per forward / protect() timing (each lasts a second at '
                             'least)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='tool runs per tiny cell and worker setting, each after its own '
                             'forward timing (the row gives medians)')
    parser.add_argument('--vitb-rounds', type=int, default=1,
                        help='the same for the ViT-B cells (a round is minutes on a CPU)')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'throughput'))
    parser.add_argument('--out', default=None)
    parser.add_argument('--previous-label', default=None,
                        help='keep the figures now in results.json as "the previous run" '
                             '(with this label) beside the new ones')
    parser.add_argument('--table-only', action='store_true',
                        help='rewrite results.md from the existing results.json')
    parser.add_argument('--cell', nargs=4, metavar=('ARCH', 'BATCH', 'DTYPE', 'ROUNDS'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    default_out = osp.join(ROOT, 'benchmarks', 'results', 'throughput',
                           'cuda' if args.device.startswith('cuda') else 'cpu')
    if args.table_only:
        write_table(args.out or default_out)
        return
    os.makedirs(args.work_dir, exist_ok=True)
    if args.cell:
        print('RESULT ' + json.dumps(run_cell(args.cell[0], int(args.cell[1]), args.device,
                                              args.work_dir, args.repeats, args.cell[2],
                                              rounds=int(args.cell[3]))))
        return
    import torch
    rows = []
    cells = [('tiny', b, d) for d in args.dtypes for b in args.tiny_batches] + \
        [('vit_b', b, d) for d in (args.vitb_dtypes or args.dtypes) for b in args.vitb_batches]
    for arch, batch, dtype in cells:
        rounds = args.rounds if arch == 'tiny' else args.vitb_rounds
        proc = subprocess.run([sys.executable, __file__, '--cell', arch, str(batch), dtype,
                               str(rounds),
                               '--device', args.device, '--repeats', str(args.repeats),
                               '--work-dir', args.work_dir], capture_output=True, text=True,
                              cwd=ROOT)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
        if proc.returncode != 0 or not lines:
            sys.exit(f'cell {arch} x{batch} {dtype} failed:\n{proc.stdout[-2000:]}'
                     f'{proc.stderr[-3000:]}')
        rows.append(json.loads(lines[-1][len('RESULT '):]))
        print(rows[-1])
    device_name = torch.cuda.get_device_name() if args.device.startswith('cuda') else \
        f'{cpu_model()} ({platform.machine()}), {os.cpu_count()} cores'
    out = args.out or default_out
    os.makedirs(out, exist_ok=True)
    given = list(argv if argv is not None else sys.argv[1:])
    for option in ('--previous-label', '--work-dir'):  # no bearing on the figures
        while option in given:
            at = given.index(option)
            del given[at:at + 2]
    command = ' '.join(['python benchmarks/throughput.py'] + given)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    meta = dict(device=device_name, torch=torch.__version__, threads=torch.get_num_threads(),
                command=command, **(dict(commit=commit) if commit else {}))
    results = dict(meta=meta, rows=rows)
    previous = osp.join(out, 'results.json')
    if osp.isfile(previous):
        with open(previous) as f:
            old = json.load(f)
        # Keep the figures of the tool before pipelining (rows without a serial / pipelined
        # split) for the comparison table.
        if 'before' in old:
            results['before'] = old['before']
        elif any('tool_w2_ms_per_image' not in r for r in old.get('rows', [])):
            results['before'] = dict(meta=old['meta'], rows=old['rows'])
        if args.previous_label and any('tool_w2_ms_per_image' in r for r in old['rows']):
            # the last committed figures, kept beside the new ones for comparison
            results['previous'] = dict(label=args.previous_label, meta=old['meta'],
                                       rows=old['rows'])
        elif 'previous' in old:
            results['previous'] = old['previous']
    with open(previous, 'w') as f:
        json.dump(results, f, indent=1)
    write_table(out)


STAGES = ('decode', 'generator', 'encode', 'hash', 'write', 'record')


def _pipelined_rows(rows) -> list:
    """Table lines of the rows measured with a serial / pipelined split."""
    lines = ['| generator | dtype | frame | image | batch | forward ms/img | protect() ms/img | '
             'tool img/s (serial / pipelined) | tool / forward (serial / pipelined) | '
             'pipelined steady state: tool / forward, start-up s | '
             'stage shares, pipelined (' + ' / '.join(STAGES) + ') | peak memory MB | '
             'bf16 vs float32 |', '|---' * 13 + '|']
    for r in rows:
        if 'tool_w2_ms_per_image' not in r:
            continue  # a row of the table before pipelining
        shares = ' / '.join(f'{100 * r["stages_w2"].get(k, 0):.0f}' for k in STAGES)
        diff = r.get('bf16_vs_float32')
        diff = f'max {diff["max_abs"]} grey, {100 * diff["share"]:.2f} % of values' if diff \
            else '-'
        spread = r.get('tool_w2_over_forward_range')
        spread = f' ({spread[0]:.2f}-{spread[1]:.2f})' if spread and r.get('tool_rounds', 1) > 1 \
            else ''
        lines.append(f'| {r["arch"]} | {r.get("dtype", "float32")} | {r["frame"]} | '
                     f'{r["image"]} | {r["batch"]} | {r["forward_ms_per_image"]:.1f} | '
                     f'{r["protect_ms_per_image"]:.1f} | {r["tool_w0_images_per_s"]:.3g} / '
                     f'{r["tool_w2_images_per_s"]:.3g} | {r["tool_w0_over_forward"]:.2f} / '
                     f'{r["tool_w2_over_forward"]:.2f}{spread} | {_steady(r)} | {shares} % | '
                     f'{r["peak_memory_mb"]:.0f} | {diff} |')
    return lines


def _steady(r: dict) -> str:
    if 'tool_w2_steady_over_forward' not in r:
        return '-'
    low, high = r['tool_w2_steady_over_forward_range']
    spread = f' ({low:.2f}-{high:.2f})' if r.get('tool_rounds', 1) > 1 else ''
    return f'{r["tool_w2_steady_over_forward"]:.2f}{spread}, {r["tool_w2_startup_s"]:.2f}'


def _about(meta: dict, rows) -> str:
    rounds = {}
    for r in rows:
        if 'tool_w2_ms_per_image' in r:
            rounds.setdefault(r['arch'], r.get('tool_rounds', 1))
    timing = ('Tool figures are medians over rounds ('
              + ', '.join(f'{arch}: {n}' for arch, n in rounds.items()) + '); each round '
              'times the bare forward pass and then the tool, and its ratio compares the two; '
              'in brackets the range of the pipelined ratio over the rounds. '
              if any(n > 1 for n in rounds.values())
              else 'One tool run per cell, after one forward timing. ')
    if any('tool_w2_steady_over_forward' in r for r in rows):
        timing += (f'Steady state: the pipelined tool also ran on a set {STEADY_FACTOR} times '
                   'as large; the extra images over the extra time are its rate once started '
                   '(what a large dataset sees), over the forward time; start-up: the rest of '
                   'the small run\'s time (loading the generator, listing and copying the other '
                   'files, the first batch, the manifest). ')
    return (f'{meta["device"]}, {meta["threads"]} threads; torch {meta["torch"]}'
            + (f'; commit {meta["commit"]}' if meta.get('commit') else '') + '. '
            f'"tool / forward": the offline tool\'s wall time per image (start-up, decoding, '
            f'annotations, generator, encoding, verification, hashing, writing, manifest) '
            f'over the generator\'s pure forward time; serial: --workers 0 (every step in '
            f'turn, as the tool ran before pipelining), pipelined: --workers 2 (the default). '
            + timing +
            f'Stage shares: wall seconds per stage summed over threads (overlapping stages '
            f'add up). bf16 vs float32: the tool\'s published pixels with --bf16 against a '
            f'float32 run on the same images. Command: {meta["command"]}')


def write_table(out: str) -> None:
    """results.md from results.json (re-run alone with --table-only)."""
    with open(osp.join(out, 'results.json')) as f:
        results = json.load(f)
    meta, rows = results['meta'], results['rows']
    lines = _pipelined_rows(rows) + ['', _about(meta, rows)]
    previous = results.get('previous')
    if previous:
        lines += ['', f'The previous run ({previous["label"]}):', '']
        lines += _pipelined_rows(previous['rows']) + ['', _about(previous['meta'],
                                                                 previous['rows'])]
    before = results.get('before')
    if before:
        lines += ['', 'Before pipelining (the earlier tool, 32 images per tiny cell):', '',
                  '| generator | frame | image | batch | forward ms/img | tool img/s | '
                  'tool / forward | peak memory MB |', '|---' * 8 + '|']
        for r in before['rows']:
            lines.append(f'| {r["arch"]} | {r["frame"]} | {r["image"]} | {r["batch"]} | '
                         f'{r["forward_ms_per_image"]:.1f} | {r["tool_images_per_s"]:.3g} | '
                         f'{r["tool_over_forward"]:.2f} | {r["peak_memory_mb"]:.0f} |')
        lines += ['', f'{before["meta"]["device"]}, {before["meta"]["threads"]} threads; torch '
                  f'{before["meta"]["torch"]}. Command: {before["meta"]["command"]}']
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
