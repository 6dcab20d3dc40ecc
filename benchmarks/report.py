"""Tables (markdown) and plots (PNG) from a suite's results.json."""
import os
import os.path as osp
from typing import Dict, List, Optional

from suite import Cell, _fmt, cell_key, expand

MISSING = 'not run'


def _record(results: dict, suite, cell: Cell) -> Optional[dict]:
    return results['cells'].get(cell_key(suite, cell))


def _value(results: dict, suite, cell: Cell) -> Optional[float]:
    """The cell's metric as tabled (times the task's ``metric_scale``), None when not run."""
    record = _record(results, suite, cell)
    if record is None:
        return None
    return record['value'] * suite.tasks[cell.task].get('metric_scale', 1)


def _num(value: Optional[float]) -> str:
    return MISSING if value is None else f'{value:.2f}'


def _ratio(value: Optional[float], reference: Optional[float]) -> str:
    if value is None or reference is None:
        return MISSING
    if reference <= 0:
        return 'n/a (clean is 0)'
    return f'{value / reference:.2f}'


def _clean_cell(cell: Cell) -> Cell:
    """The clean, undefended run of the cell's task on the same schedule."""
    return Cell(cell.study, cell.task, 'clean', 'none', {}, cell.schedule)


def _clean_reference(results, suite, cell: Cell) -> Optional[float]:
    return _value(results, suite, _clean_cell(cell))


def _loss(results: dict, suite, cell: Cell) -> str:
    """The cell's final training loss (see suite.final_train_loss), '-' when not recorded."""
    record = _record(results, suite, cell)
    if record is None:
        return MISSING
    loss = record.get('train_loss')
    return '-' if loss is None else f'{loss:.3f}'


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


def study_table(suite, results: dict, study: str, command: str) -> str:
    cells = expand(suite, [study])
    records = [r for r in (_record(results, suite, c) for c in cells) if r is not None]
    lines = _header(suite, study, command, records)
    spec = suite.studies[study]
    methods = list(spec.methods)
    protected = [m for m in methods if m != 'clean']
    if spec.get('vary'):
        (name, values), = spec.vary.items()
        lines += [f'| task | method | {name} | metric | value | clean | protected / clean | '
                  'train loss | clean train loss |',
                  '|---' * 9 + '|']
        for cell in cells:
            if cell.method == 'clean':
                continue  # the reference column
            task = suite.tasks[cell.task]
            value = _value(results, suite, cell)
            clean = _clean_reference(results, suite, cell)
            lines.append(f'| {task.dataset} {task.arch} | {cell.method} | '
                         f'{_fmt(cell.setting[name])} | '
                         f'{task.metric} | {_num(value)} | {_num(clean)} | '
                         f'{_ratio(value, clean)} | {_loss(results, suite, cell)} | '
                         f'{_loss(results, suite, _clean_cell(cell))} |')
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
            schedule = spec.get('schedule', {}).get(task_name, task.get('schedule'))
            unit = 'epochs' if 'dino' in task_name else 'iters'
            for defence in spec.defences:
                row = {m: _value(results, suite, Cell(study, task_name, m, defence, {}, schedule))
                       for m in methods}
                clean = _clean_reference(results, suite,
                                         Cell(study, task_name, 'clean', 'none', {}, schedule))
                lines.append(f'| {task.dataset} | {task.arch} | {schedule} {unit} | {defence} | '
                             f'{task.metric} | ' + ' | '.join(_num(row[m]) for m in methods)
                             + ' | ' + ' | '.join(_ratio(row[m], clean) for m in protected)
                             + ' |')
        if len(spec.defences) > 1:
            lines += ['', 'Ratios are to the clean, undefended model: a defence "recovers" when '
                      'its protected / clean ratio approaches the clean-with-defence one.']
    done = len(records)
    lines += ['', f'{done} of {len(cells)} cells run.', '']
    return '\n'.join(lines)


def plots(suite, results: dict, out_dir: str) -> List[str]:
    """Bar chart per task of the main study; clean-share curve of the mix study."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    written = []
    if 'main' in suite.studies:
        spec = suite.studies.main
        tasks = [t for t in spec.tasks]
        fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3), squeeze=False)
        for ax, task_name in zip(axes[0], tasks):
            task = suite.tasks[task_name]
            values = [_value(results, suite, Cell('main', task_name, m, 'none', {},
                                                  task.get('schedule')))
                      for m in spec.methods]
            ax.bar(range(len(values)), [v or 0 for v in values],
                   color=['#777'] + ['#c44'] * (len(values) - 1))
            for i, v in enumerate(values):
                if v is None:
                    ax.text(i, 0, 'n/r', ha='center', va='bottom', fontsize=7)
            ax.set_xticks(range(len(values)), spec.methods, rotation=45, fontsize=8)
            ax.set_title(f'{task.dataset}\n{task.arch}', fontsize=9)
            ax.set_ylabel(task.metric, fontsize=8)
        fig.tight_layout()
        path = osp.join(out_dir, 'main.png')
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    if 'mix' in suite.studies:
        spec = suite.studies.mix
        task_name = spec.tasks[0]
        task = suite.tasks[task_name]
        xs, ys = [], []
        for cell in expand(suite, ['mix']):
            if cell.method == 'clean':
                continue
            value = _value(results, suite, cell)
            clean = _clean_reference(results, suite, cell)
            if value is not None and clean:
                xs.append(100 * cell.setting['mix_clean_ratio'])
                ys.append(value / clean)
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot(xs, ys, 'o-')
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
