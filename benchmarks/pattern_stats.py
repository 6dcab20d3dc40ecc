"""How much of its budget each protection's published pattern uses, beside what it does.

For every protected method of a study on a VOC-layout task, this makes the method's protected
copy of the training set exactly as the study's cells do (``suite.protect_train_split``, cached
in the same work folder as ``benchmarks/run.py``'s) and measures the published change
``delta = protected - original`` (grey levels, every channel) against the method's budget:

- amplitude: mean ``|delta|`` over the budget, on the object pixels (labels other than the
  task's background and 255) and on the background pixels;
- at budget: the share of those values whose ``|delta|`` reaches the budget;

next to the method's protected / clean ratio in the study (mean ± sd over the seeds run, each
seed over the clean run of the same schedule and seed). Over the generator methods (those with a
checkpoint) it reports Spearman's rho between the background amplitude and the ratio: whether
a draw's published pattern, which costs seconds to make, says how well it protects before any
target is trained on it. Writes ``<results dir>/<study>_pattern_stats.md`` and prints it.

  python benchmarks/pattern_stats.py --suite mini --study screen
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from report import mean_sd  # noqa: E402
from screen_agreement import seed_ratios, spearman  # noqa: E402
from suite import (Cell, load_results, load_suite, protect_train_split,  # noqa: E402
                   protection_settings, study_schedule, training_seeds)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IGNORE = 255


def _read_rgb(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert('RGB'), dtype=np.int16)


def budget_use(src: str, dst: str, eps_object: float, eps_background: float,
               background_labels: Sequence[int] = (0, )) -> Dict[str, float]:
    """Amplitude and at-budget share of ``dst``'s published change over ``src`` (a VOC root and
    its protected copy), per region. Images are matched by the copy's train list."""
    split = osp.join(src, 'ImageSets', 'Segmentation', 'train.txt')
    if not osp.isfile(split):
        raise FileNotFoundError(f'{split}: not a VOC-layout training set (pattern_stats reads '
                                'VOC layouts only)')
    with open(split) as f:
        names = [line.strip() for line in f if line.strip()]
    limits = dict(objects=round(eps_object * 255), background=round(eps_background * 255))
    sums = {region: np.zeros(2) for region in limits}  # [sum |delta| / budget, at budget]
    counts = dict.fromkeys(limits, 0)
    for name in names:
        label_path = osp.join(src, 'SegmentationClass', f'{name}.png')
        with Image.open(label_path) as im:
            label = np.asarray(im)
        before = _read_rgb(osp.join(src, 'JPEGImages', f'{name}.jpg'))
        after = _read_rgb(osp.join(dst, 'JPEGImages', f'{name}.jpg'))
        if before.shape != after.shape or before.shape[:2] != label.shape:
            raise ValueError(f'{name}: image, protected image and label differ in size '
                             f'({before.shape}, {after.shape}, {label.shape})')
        delta = np.abs(after - before)
        background = np.isin(label, background_labels)
        masks = dict(objects=~background & (label != IGNORE), background=background)
        for region, mask in masks.items():
            values = delta[mask]
            if values.size == 0 or limits[region] == 0:
                continue
            sums[region] += (values.sum() / limits[region],
                             np.count_nonzero(values >= limits[region]))
            counts[region] += values.size
    out = {}
    for region in limits:
        n = counts[region]
        out[f'{region}_amplitude'] = sums[region][0] / n if n else float('nan')
        out[f'{region}_at_budget'] = sums[region][1] / n if n else float('nan')
    return out


def _ratio(values: Dict[int, float]) -> Tuple[Optional[float], str]:
    mean, sd = mean_sd(list(values.values()))
    if mean is None:
        return None, 'not run'
    return mean, f'{mean:.2f}' + ('' if sd is None else f' ± {sd:.2f}') + f' (n={len(values)})'


def pattern_table(suite, results: dict, study: str, data_root: str, work: str,
                  suite_name: str = 'mini') -> str:
    spec = suite.studies[study]
    lines = [f'## Budget used by the published patterns of the `{study}` study', '',
             f'Command: `python benchmarks/pattern_stats.py --suite {suite_name} '
             f'--study {study}`', '',
             'Amplitude: mean |published - original| over the budget (every channel of every '
             'pixel of the training set, in grey levels); at budget: the share of those values '
             'at the budget. Objects: pixels of the non-background classes; background: the '
             "task's background label (255 left out).", '']
    for task in spec['tasks']:
        if suite.tasks[task].format != 'voc':
            lines += [f'{task}: not a VOC-layout task, skipped.', '']
            continue
        schedule = study_schedule(suite, study, task)
        seeds = training_seeds(suite, study, task)
        background_labels = suite.tasks[task].get('protect', {}).get('background_labels', (0, ))
        src = osp.join(data_root, suite.tasks[task].root)
        rows: List[tuple] = []
        skipped: List[str] = []
        for method in spec['methods']:
            cell = Cell(study, task, method, 'none', {}, schedule, seeds[0])
            settings = protection_settings(suite, cell)
            if settings is None:
                continue
            checkpoint = settings.get('checkpoint')
            if checkpoint and not osp.isfile(osp.join(ROOT, checkpoint)):
                skipped.append(f'{method} ({checkpoint} not found)')
                continue
            dst = protect_train_split(settings, data_root, work)
            stats = budget_use(src, dst, settings['eps_object'], settings['eps_background'],
                               background_labels)
            ratio, text = _ratio(seed_ratios(results, suite, study, task, method, schedule,
                                             seeds))
            rows.append((method, bool(settings.get('checkpoint')), stats, ratio, text))
        lines += [f'### {task} ({schedule} iterations)', '',
                  '| method | generator | amplitude objects / background | at budget objects / '
                  'background | protected / clean |', '|---|---|---|---|---|']
        for method, is_generator, s, _, text in sorted(
                rows, key=lambda r: (r[3] is None, r[3] if r[3] is not None else 0.0)):
            lines.append(f'| {method} | {"yes" if is_generator else "-"} | '
                         f'{s["objects_amplitude"]:.2f} / {s["background_amplitude"]:.2f} | '
                         f'{s["objects_at_budget"]:.2f} / {s["background_at_budget"]:.2f} | '
                         f'{text} |')
        generators = [(r[2]['background_amplitude'], r[3]) for r in rows
                      if r[1] and r[3] is not None]
        rho = spearman([g[0] for g in generators], [g[1] for g in generators])
        if skipped:
            lines += ['', f'Skipped: {"; ".join(skipped)}.']
        lines += ['', f'Generator methods with a ratio: {len(generators)}; Spearman rho of the '
                  'background amplitude and the ratio: '
                  + ('n/a' if rho is None else f'{rho:.2f}') + ' (negative: the more of the '
                  'budget a draw uses on the background, the less the target learns).', '']
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--suite', default='mini')
    parser.add_argument('--study', default='screen')
    parser.add_argument('--results-dir', default=None,
                        help='default: benchmarks/results/<suite>')
    parser.add_argument('--work-dir', default=None,
                        help='protected copies (default work_dirs/benchmarks/<suite>, shared '
                        'with benchmarks/run.py)')
    parser.add_argument('--data-root', default=None, help="default: the suite's data_root")
    args = parser.parse_args(argv)
    import unseg_mm  # noqa: F401  (compat shims and registrations)
    suite = load_suite(args.suite)
    if args.study not in suite.studies:
        parser.error(f'suite {args.suite!r} has no study {args.study!r}')
    name = osp.splitext(osp.basename(args.suite))[0]
    out_dir = args.results_dir or osp.join(ROOT, 'benchmarks', 'results', name)
    path = osp.join(out_dir, 'results.json')
    results = load_results(path) if osp.isfile(path) else {}
    work = args.work_dir or osp.join(ROOT, 'work_dirs', 'benchmarks', name)
    data_root = args.data_root or osp.join(ROOT, suite.data_root)
    text = pattern_table(suite, results, args.study, data_root, work, name)
    with open(osp.join(out_dir, f'{args.study}_pattern_stats.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
