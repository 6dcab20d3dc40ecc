"""Does a short-schedule screen order protections as the full schedule does?

A study run on a shorter schedule than its task's (the mini suite's ``screen``: VOC DeepLabV3 at
300 of 1200 iterations) is a cheap way to pick which generator candidates to run in full, but
only if it ranks them alike. For every method of the study this pairs its protected / clean
ratio on the study's schedule (per training seed, over the clean run of the same schedule and
seed) with its ratio on the task's own schedule (over the suite's training seeds, whichever of
them were run by any study), and reports

- Spearman's rank correlation of the two means over the methods with both;
- pairwise agreement: of the method pairs whose full-schedule seed intervals (mean +- sd) do not
  overlap, the share that the screen orders the same way (by its means), and the pairs it
  orders the other way, by name.

Writes <results dir>/<study>_agreement.md and prints it.

  python benchmarks/screen_agreement.py --suite mini --study screen
"""
import argparse
import math
import os.path as osp
import sys
from itertools import combinations
from typing import Dict, Optional, Sequence

from scipy import stats

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import report  # noqa: E402
from report import mean_sd  # noqa: E402
from suite import Cell, load_results, load_suite, study_schedule, training_seeds  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def seed_ratios(results: dict, suite, study: str, task: str, method: str,
                schedule: Optional[int], seeds: Sequence[int]) -> Dict[int, float]:
    """{seed: protected / clean} for ``method`` on ``task`` undefended at ``schedule``."""
    return report.seed_ratios(results, suite, Cell(study, task, method, 'none', {}, schedule, 0),
                              seeds)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> Optional[float]:
    """Spearman's rho (ties at their average rank); None for fewer than three pairs or a
    constant side."""
    if len(xs) < 3:
        return None
    rho = stats.spearmanr(xs, ys).statistic
    return None if math.isnan(rho) else float(rho)


def _fmt(values: Dict[int, float]) -> str:
    mean, sd = mean_sd(list(values.values()))
    if mean is None:
        return 'not run'
    return f'{mean:.2f}' + ('' if sd is None else f' ± {sd:.2f}') + f' (n={len(values)})'


def agreement(suite, results: dict, study: str, suite_name: str = 'mini') -> str:
    spec = suite.studies[study]
    lines = [f'## Does the `{study}` study order protections as the full schedule does?', '',
             f'Command: `python benchmarks/screen_agreement.py --suite {suite_name} '
             f'--study {study}`', '']
    for task in spec['tasks']:
        short = study_schedule(suite, study, task)
        full = suite.tasks[task].get('schedule')
        short_seeds = training_seeds(suite, study, task)
        full_seeds = suite.tasks[task].get('seeds', suite.get('seeds', [0]))
        rows = []
        for method in spec['methods']:
            if method == 'clean':
                continue
            s = seed_ratios(results, suite, study, task, method, short, short_seeds)
            f = seed_ratios(results, suite, study, task, method, full, full_seeds)
            rows.append((method, s, f))
        lines += [f'### {task}: {short} vs {full} iterations', '',
                  f'| method | protected / clean at {short} | protected / clean at {full} |',
                  '|---|---|---|']

        def full_key(row):
            mean = mean_sd(list(row[2].values()))[0]
            return (mean is None, mean if mean is not None else 0.0)

        for method, s, f in sorted(rows, key=full_key):
            lines.append(f'| {method} | {_fmt(s)} | {_fmt(f)} |')
        both = [(m, mean_sd(list(s.values())), mean_sd(list(f.values())))
                for m, s, f in rows if s and f]
        rho = spearman([b[1][0] for b in both], [b[2][0] for b in both])
        lines += ['', f'Methods with both: {len(both)}; Spearman rho of the means: '
                  + ('n/a' if rho is None else f'{rho:.2f}') + '.']
        separated, agree, disagree = 0, 0, []
        for (m1, s1, f1), (m2, s2, f2) in combinations(both, 2):
            if f1[1] is None or f2[1] is None:
                continue  # one full-schedule seed: no interval to separate
            lo, hi = ((m1, s1, f1), (m2, s2, f2)) if f1[0] < f2[0] else ((m2, s2, f2),
                                                                         (m1, s1, f1))
            if lo[2][0] + lo[2][1] >= hi[2][0] - hi[2][1]:
                continue  # the full-schedule intervals overlap: no order to keep
            separated += 1
            if lo[1][0] < hi[1][0]:
                agree += 1
            else:
                disagree.append(f'{lo[0]} < {hi[0]}')
        if separated:
            lines.append(f'Pairs separated at {full} iterations (non-overlapping mean ± sd): '
                         f'{separated}; ordered alike at {short}: {agree} '
                         f'({agree / separated:.0%})'
                         + (f'; reversed: {", ".join(disagree)}' if disagree else '') + '.')
        else:
            lines.append(f'No pair is separated at {full} iterations yet.')
        lines.append('')
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--suite', default='mini')
    parser.add_argument('--study', default='screen')
    parser.add_argument('--results-dir', default=None,
                        help='default: benchmarks/results/<suite>')
    args = parser.parse_args(argv)
    suite = load_suite(args.suite)
    if args.study not in suite.studies:
        parser.error(f'suite {args.suite!r} has no study {args.study!r}')
    out_dir = args.results_dir or osp.join(ROOT, 'benchmarks', 'results', args.suite)
    path = osp.join(out_dir, 'results.json')
    if not osp.isfile(path):
        parser.error(f'no results at {path}: run the study first (python benchmarks/run.py '
                     f'--suite {args.suite} --study {args.study}) or pass --results-dir')
    results = load_results(path)
    text = agreement(suite, results, args.study, args.suite)
    with open(osp.join(out_dir, f'{args.study}_agreement.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
