"""Tables (markdown) and plots (PNG) from a suite's results.json.

Every entry aggregates the cell's training seeds: metric and training loss as mean +- sd, the
protected / clean ratio as mean +- sd of the per-seed ratios (each protected run over the clean
run of the same seed). A ratio is marked as an effect only where its seed interval, mean +- sd,
excludes 1 (a down or up arrow); everything else is inside the noise of the runs.
"""
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from suite import (Cell, _fmt, cell_key, expand, protection_settings, study_methods,
                   study_schedule, training_seeds)

MISSING = 'not run'


def _record(results: dict, suite, cell: Cell) -> Optional[dict]:
    return results['cells'].get(cell_key(suite, cell))


def _seed_cells(suite, cell: Cell) -> List[Cell]:
    return [cell.with_seed(s) for s in training_seeds(suite, cell.study, cell.task)]


def _value(results: dict, suite, cell: Cell) -> Optional[float]:
    """One seed's metric as tabled (times the task's ``metric_scale``), None when not run."""
    record = _record(results, suite, cell)
    if record is None:
        return None
    return record['value'] * suite.tasks[cell.task].get('metric_scale', 1)


def _values(results: dict, suite, cell: Cell) -> Dict[int, float]:
    """{seed: metric} over the training seeds of ``cell`` that were run."""
    values = {c.seed: _value(results, suite, c) for c in _seed_cells(suite, cell)}
    return {s: v for s, v in values.items() if v is not None}


def _losses(results: dict, suite, cell: Cell) -> List[float]:
    records = [_record(results, suite, c) for c in _seed_cells(suite, cell)]
    return [r['train_loss'] for r in records if r is not None and r.get('train_loss') is not None]


def mean_sd(values: Sequence[float]):
    """(mean, sample sd) of ``values``; sd is None for fewer than two values."""
    n = len(values)
    if n == 0:
        return None, None
    mean = sum(values) / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def _stat(values: Sequence[float], digits: int = 2, total: Optional[int] = None) -> str:
    """'mean +- sd' ('mean' for one value), with '(k of n seeds)' when some are missing."""
    mean, sd = mean_sd(values)
    if mean is None:
        return MISSING
    text = f'{mean:.{digits}f}' + ('' if sd is None else f' ± {sd:.{digits}f}')
    if total is not None and len(values) < total:
        text += f' ({len(values)} of {total} seeds)'
    return text


def seed_ratios(results: dict, suite, cell: Cell,
                seeds: Optional[Sequence[int]] = None) -> Dict[int, float]:
    """{seed: protected / clean} paired by training seed, over ``seeds`` (default: the cell's
    study's training seeds) that were run; seeds with a zero clean metric are left out."""
    cells = _seed_cells(suite, cell) if seeds is None else [cell.with_seed(s) for s in seeds]
    out = {}
    for c in cells:
        value, clean = _value(results, suite, c), _value(results, suite, _clean_cell(c))
        if value is not None and clean:
            out[c.seed] = value / clean
    return out


def ratios(results: dict, suite, cell: Cell) -> List[float]:
    """Per-seed protected / clean ratios (see :func:`seed_ratios`)."""
    return list(seed_ratios(results, suite, cell).values())


def effect(values: Sequence[float]) -> str:
    """A down / up arrow when mean +- sd of the ratios excludes 1, else ''."""
    mean, sd = mean_sd(values)
    if sd is None:
        return ''
    if mean + sd < 1:
        return ' ↓'
    if mean - sd > 1:
        return ' ↑'
    return ''


def _ratio(results: dict, suite, cell: Cell) -> str:
    values = ratios(results, suite, cell)
    if not values:
        clean = _values(results, suite, _clean_cell(cell))
        if clean and not any(clean.values()):
            return 'n/a (clean is 0)'
        return MISSING
    return _stat(values) + effect(values)


def _clean_cell(cell: Cell) -> Cell:
    """The clean, undefended run of the cell's task on the same schedule and seed."""
    return Cell(cell.study, cell.task, 'clean', 'none', {}, cell.schedule, cell.seed)


def _loss(results: dict, suite, cell: Cell) -> str:
    """The cell's final training loss over seeds (see suite.final_train_loss)."""
    if not _values(results, suite, cell):
        return MISSING
    losses = _losses(results, suite, cell)
    return _stat(losses, digits=3) if losses else '-'


def _header(suite, study: str, command: str, records: List[dict]) -> List[str]:
    lines = [f'## {suite.studies[study].title}', '',
             f'Command: `{command} --study {study}`', '']
    if suite.get('scale'):
        lines += [f'Scale: {suite.scale}.', '']
    if records:
        # Cells run at different times may differ: name every value the table's runs had.
        env = {k: ' / '.join(sorted({str(r[k]) for r in records}))
               for k in ('hardware', 'torch', 'mmseg', 'mmdet', 'mmcv', 'commit')}
        commits = 'commits' if '/' in env['commit'] else 'commit'
        lines += [f'Hardware: {env["hardware"]}; torch {env["torch"]}, mmseg {env["mmseg"]}, '
                  f'mmdet {env["mmdet"]}, mmcv {env["mmcv"]}; {commits} {env["commit"]}.', '']
    return lines


def _seed_note(suite, study: str) -> str:
    counts = sorted({len(training_seeds(suite, study, t)) for t in suite.studies[study].tasks})
    n = ' or '.join(map(str, counts))
    return (f'Values: mean ± sd over {n} training seeds (one seed: the value alone); '
            'protected / clean: mean ± sd of the per-seed ratios; ↓ / ↑: that interval '
            'excludes 1, the only ratios that show an effect.')


def _unique(cells: List[Cell]) -> List[Cell]:
    """One cell per setting (the first seed's), in order."""
    seen, out = set(), []
    for cell in cells:
        ident = (cell.task, cell.method, cell.defence, repr(sorted(cell.setting.items())))
        if ident not in seen:
            seen.add(ident)
            out.append(cell)
    return out


def _method_label(suite, method: str) -> str:
    spec = suite.methods[method]
    if spec and 'eps_object' in spec:
        return f'{spec["method"]} @ {_fmt(spec["eps_object"])}'
    return method


def budget(suite, cell: Cell) -> str:
    """The L-inf budgets ``cell`` publishes at, read from its protection settings (what the
    cell's key is made of), not from the study's title: 'E everywhere' or 'E / B' (objects /
    elsewhere); '-' for clean data."""
    settings = protection_settings(suite, cell)
    if settings is None:
        return '-'
    eps, eps_bg = settings['eps_object'], settings['eps_background']
    if abs(eps - eps_bg) < 1e-12:
        return f'{_fmt(eps)} everywhere'
    return f'{_fmt(eps)} / {_fmt(eps_bg)}'


def _budgets_line(suite, study: str, methods: Sequence[str]) -> str:
    """'Budgets (objects / elsewhere): m1 ...; m2 ...' for a table with a column per method
    (the budgets of its first task's cells)."""
    task = suite.studies[study].tasks[0]
    schedule = study_schedule(suite, study, task)
    parts = [f'{m} {budget(suite, Cell(study, task, m, "none", {}, schedule))}'
             for m in methods]
    return 'Budgets (objects / elsewhere), from the cells\' protection settings: ' \
        + '; '.join(parts) + '.'


def study_table(suite, results: dict, study: str, command: str) -> str:
    cells = expand(suite, [study])
    records = [r for r in (_record(results, suite, c) for c in cells) if r is not None]
    lines = _header(suite, study, command, records)
    spec = suite.studies[study]
    methods = list(spec.methods)
    protected = [m for m in methods if m != 'clean']
    if spec.get('vary') or spec.get('layout') == 'rows':
        vary = list(spec.get('vary', {}))
        name = vary[0] if vary else None
        lines += ['| task | method | ' + (f'{name} | ' if name else '')
                  + 'budget (objects / elsewhere) | metric | value | clean | protected / clean | '
                  'train loss | clean train loss |',
                  '|---' * (9 + bool(name)) + '|']
        for cell in _unique(cells):
            if cell.method == 'clean':
                continue  # the reference column
            task = suite.tasks[cell.task]
            seeds = len(training_seeds(suite, study, cell.task))
            clean = _clean_cell(cell)
            lines.append(f'| {task.dataset} {task.arch} | {_method_label(suite, cell.method)} | '
                         + (f'{_fmt(cell.setting[name])} | ' if name else '')
                         + f'{budget(suite, cell)} | {task.metric} | '
                         f'{_stat(list(_values(results, suite, cell).values()), total=seeds)} | '
                         f'{_stat(list(_values(results, suite, clean).values()), total=seeds)} | '
                         f'{_ratio(results, suite, cell)} | {_loss(results, suite, cell)} | '
                         f'{_loss(results, suite, clean)} |')
        lines += ['', 'Train loss: mean total training loss over the last tenth of the schedule. '
                  'A protection that the model picks up as a shortcut lowers it below the clean '
                  "run's (the error-minimising signature)."]
    else:
        lines += ['| dataset | model | schedule | defence | metric | '
                  + ' | '.join(methods) + ' | '
                  + ' | '.join(f'{m} / clean' for m in protected) + ' |',
                  '|---' * (5 + len(methods) + len(protected)) + '|']
        for task_name in spec.tasks:
            task = suite.tasks[task_name]
            schedule = study_schedule(suite, study, task_name)
            unit = 'epochs' if 'dino' in task_name else 'iters'
            seeds = len(training_seeds(suite, study, task_name))
            for defence in spec.defences:
                row = {m: Cell(study, task_name, m, defence, {}, schedule) for m in methods}
                lines.append(f'| {task.dataset} | {task.arch} | {schedule} {unit} | {defence} | '
                             f'{task.metric} | '
                             + ' | '.join(_stat(list(_values(results, suite, row[m]).values()),
                                                total=seeds) for m in methods)
                             + ' | ' + ' | '.join(_ratio(results, suite, row[m])
                                                  for m in protected) + ' |')
        if protected:
            lines += ['', _budgets_line(suite, study, protected)]
        if len(spec.defences) > 1:
            lines += ['', 'Ratios are to the clean, undefended model: a defence "recovers" when '
                      'its protected / clean ratio approaches the clean-with-defence one.']
    lines += ['', _seed_note(suite, study)]
    done = len(records)
    lines += ['', f'{done} of {len(cells)} runs done.', '']
    return '\n'.join(lines)


def _bar_panels(suite, study: str, stats, ylabel, path: str, reference: Optional[float] = None):
    """One bar panel per task of ``study``: ``stats(task, method) -> values over seeds``, drawn
    as mean with an sd error bar; 'n/r' where nothing was run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    spec = suite.studies[study]
    fig, axes = plt.subplots(1, len(spec.tasks), figsize=(3.2 * len(spec.tasks), 3),
                             squeeze=False)
    for ax, task_name in zip(axes[0], spec.tasks):
        task = suite.tasks[task_name]
        methods = [m for m in study_methods(suite, study, task_name)
                   if stats(task_name, m) is not None]
        summary = [mean_sd(stats(task_name, m)) for m in methods]
        means = [m or 0 for m, _ in summary]
        errors = [sd or 0 for _, sd in summary]
        # grey: the clean run and the negative controls; green: the positive control
        colours = ['#777' if m == 'clean' or m.startswith('uniform') else
                   '#4a4' if m.startswith('grating') else '#c44' for m in methods]
        ax.bar(range(len(methods)), means, yerr=errors, capsize=3, color=colours)
        for i, (mean, _) in enumerate(summary):
            if mean is None:
                ax.text(i, 0, 'n/r', ha='center', va='bottom', fontsize=7)
        if reference is not None:
            ax.axhline(reference, color='k', lw=0.8, ls='--')
        ax.set_xticks(range(len(methods)), [_method_label(suite, m) for m in methods],
                      rotation=45, fontsize=8, ha='right')
        ax.set_title(f'{task.dataset}\n{task.arch}', fontsize=9)
        ax.set_ylabel(ylabel(task), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plots(suite, results: dict, out_dir: str, studies: Sequence[str] = ()) -> List[str]:
    """Bar charts (mean +- sd over seeds) of the main study's metric and of the calibration
    study's protected / clean ratios; the clean-share curve of the mix study."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    written = []
    studies = set(studies or suite.studies)
    if 'main' in suite.studies and 'main' in studies:
        schedule = {t: study_schedule(suite, 'main', t) for t in suite.studies.main.tasks}
        written.append(_bar_panels(
            suite, 'main',
            lambda t, m: list(_values(results, suite, Cell('main', t, m, 'none', {},
                                                           schedule[t])).values()),
            lambda task: task.metric, osp.join(out_dir, 'main.png')))
    if 'calibration' in suite.studies and 'calibration' in studies:
        schedule = {t: study_schedule(suite, 'calibration', t)
                    for t in suite.studies.calibration.tasks}

        def calibration_ratios(t, m):
            if m == 'clean':
                return None
            return ratios(results, suite, Cell('calibration', t, m, 'none', {}, schedule[t]))

        written.append(_bar_panels(suite, 'calibration', calibration_ratios,
                                   lambda task: f'{task.metric}: protected / clean',
                                   osp.join(out_dir, 'calibration.png'), reference=1.0))
    if 'mix' in suite.studies and 'mix' in studies:
        spec = suite.studies.mix
        task_name = spec.tasks[0]
        task = suite.tasks[task_name]
        xs, ys, errs = [], [], []
        for cell in _unique(expand(suite, ['mix'])):
            if cell.method == 'clean':
                continue
            mean, sd = mean_sd(ratios(results, suite, cell))
            if mean is not None:
                xs.append(100 * cell.setting['mix_clean_ratio'])
                ys.append(mean)
                errs.append(sd or 0)
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.errorbar(xs, ys, yerr=errs, fmt='o-', capsize=3)
        ax.axhline(1.0, color='k', lw=0.8, ls='--')
        ax.set_xlabel('clean images in the training set (%)')
        ax.set_ylabel(f'{task.metric}: protected / clean')
        ax.set_title(f'{task.dataset} {task.arch}', fontsize=9)
        ax.set_ylim(bottom=0)
        fig.tight_layout()
        path = osp.join(out_dir, 'mix.png')
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def write_report(suite, results: dict, studies: List[str], out_dir: str,
                 command: str) -> Dict[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    tables = {}
    for study in studies:
        text = study_table(suite, results, study, command)
        with open(osp.join(out_dir, f'{study}.md'), 'w') as f:
            f.write(text)
        tables[study] = text
    return tables


README_START = '<!-- benchmark tables: {suite} (written by benchmarks/run.py) -->'
README_END = '<!-- end of benchmark tables: {suite} -->'


def update_readme(path: str, suite_name: str, tables: Dict[str, str]) -> bool:
    """Replace the marked block of ``path`` with ``tables`` (studies in order, headings demoted
    one level). Returns False when the file has no such block."""
    start, end = README_START.format(suite=suite_name), README_END.format(suite=suite_name)
    with open(path) as f:
        text = f.read()
    if start not in text or end not in text:
        return False
    body = '\n\n'.join(
        '\n'.join('#' + t if t.startswith('## ') else t for t in table.splitlines()).rstrip()
        for table in tables.values())
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, 'w') as f:
        f.write(head + start + '\n' + body.rstrip() + '\n' + end + tail)
    return True


# -- targets -----------------------------------------------------------------------------------
def _target_cell(suite, target: dict, task: str, method: Optional[str] = None) -> Cell:
    study = target['study']
    return Cell(study, task, method or target['method'], target.get('defence', 'none'), {},
                study_schedule(suite, study, task))


def _seeds_note(found: int, total: int) -> str:
    return '' if found >= total else f' ({found} of {total} seeds)'


def _bound(target: dict) -> str:
    if 'within' in target:
        return f'in [{target["within"][0]}, {target["within"][1]}]'
    if 'at_least' in target:
        return f'≥ {target["at_least"]}'
    return f'≤ {target["at_most"]}'


def _meets(target: dict, x: float) -> bool:
    if 'within' in target:
        return target['within'][0] <= x <= target['within'][1]
    if 'at_least' in target:
        return x >= target['at_least']
    return x <= target['at_most']


def target_row(suite, results: dict, target: dict, task: str) -> dict:
    """One target on one task: what was measured, what is needed, and whether it is met
    ('yes', 'no', 'open' where the seeds run cannot decide it, or 'not run')."""
    cell = _target_cell(suite, target, task)
    total = len(training_seeds(suite, cell.study, task))
    measure = target['measure']
    row = dict(target=target['name'], task=f'{suite.tasks[task].dataset} '
               f'{suite.tasks[task].arch}', measured=MISSING, needed='', met=MISSING)
    if measure in ('value', 'sd'):
        values = list(_values(results, suite, cell).values())
        mean, sd = mean_sd(values)
        row['needed'] = f'{target["method"]}: {"metric" if measure == "value" else "seed sd"} ' \
                        + _bound(target)
        x = mean if measure == 'value' else sd
        if x is not None:
            row['measured'] = f'{x:.2f}{_seeds_note(len(values), total)}'
            row['met'] = 'yes' if _meets(target, x) else 'no'
        elif mean is not None:
            row['measured'], row['met'] = f'1 of {total} seeds', 'open'
        return row
    values = ratios(results, suite, cell)
    mean, sd = mean_sd(values)
    label = _method_label(suite, cell.method) + (f' + {cell.defence}'
                                                  if cell.defence != 'none' else '')
    if measure == 'ratio':
        what = 'defended / undefended clean' if cell.method == 'clean' else 'protected / clean'
        row['needed'] = f'{label}: {what} {_bound(target)}'
        if mean is not None:
            row['measured'] = _stat(values) + effect(values) + _seeds_note(len(values), total)
            row['met'] = 'yes' if _meets(target, mean) else 'no'
        return row
    if measure == 'loss_below_clean':
        row['needed'] = f'{label}: final train loss below the clean run\'s'
        losses = _losses(results, suite, cell)
        clean = _losses(results, suite, _clean_cell(cell))
        if losses and clean:
            a, b = mean_sd(losses)[0], mean_sd(clean)[0]
            row['measured'] = f'{a:.3f} vs clean {b:.3f}{_seeds_note(len(losses), total)}'
            row['met'] = 'yes' if a < b else 'no'
        return row
    if measure == 'below':
        # Below every named method, with the seed intervals apart (mean + sd below mean - sd).
        others = target['than']
        row['needed'] = f'{label} below {", ".join(others)}, seed intervals apart'
        if mean is None:
            return row
        parts, verdicts = [f'{label} {_stat(values)}'], []
        for other in others:
            theirs = ratios(results, suite, _target_cell(suite, target, task, other))
            m, s = mean_sd(theirs)
            if m is None:
                parts.append(f'{other} {MISSING}')
                verdicts.append(MISSING)
                continue
            parts.append(f'{other} {_stat(theirs)}')
            if sd is None or s is None:
                verdicts.append('open' if mean < m else 'no')
            else:
                verdicts.append('yes' if mean + sd < m - s else 'no' if mean >= m else 'open')
        row['measured'] = '; '.join(parts)
        row['met'] = ('no' if 'no' in verdicts else MISSING if MISSING in verdicts
                      else 'open' if 'open' in verdicts else 'yes')
        return row
    raise ValueError(f'target {target["name"]!r}: unknown measure {measure!r}')


def targets_table(suite, results: dict, command: str) -> Optional[str]:
    """The suite's ``targets`` (each on its ``tasks``, default its study's), one row per task;
    targets of studies the suite does not define (a suite built on another that drops them) are
    left out."""
    targets = [t for t in suite.get('targets', []) if t['study'] in suite.studies]
    if not targets:
        return None
    lines = ['## Targets: where the suite stands', '',
             f'Command: `{command} --table-only` (from the studies named in the suite\'s '
             '`targets`)', '',
             'Met: `yes` / `no` on the mean of the seeds run; `open` where the seeds run cannot '
             'decide it (one seed where an interval is needed, or intervals that overlap while '
             'the mean is below); `not run` where a cell is missing.', '',
             '| target | task | needed | measured | met |', '|---|---|---|---|---|']
    for target in targets:
        for task in target.get('tasks') or suite.studies[target['study']].tasks:
            if task not in suite.tasks:
                continue
            row = target_row(suite, results, target, task)
            lines.append(f'| {row["target"]} | {row["task"]} | {row["needed"]} | '
                         f'{row["measured"]} | {row["met"]} |')
    return '\n'.join(lines) + '\n'
