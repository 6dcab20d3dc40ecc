"""Clean vs protected training across datasets x architectures x methods x defences.

  python benchmarks/run.py --suite mini                  # every study of the mini suite (hours)
  python benchmarks/run.py --suite mini --study main     # one study
  python benchmarks/run.py --suite mini --study ci       # the CI slice (minutes)
  python benchmarks/run.py --suite mini --only 'voc_deeplabv3|*'   # cells whose label matches
  python benchmarks/run.py --suite mini --table-only     # rewrite tables/plots from results.json
  python benchmarks/run.py --suite full --data-root data  # stock configs on the real datasets

Each cell protects the training split (offline tool, cached), trains through tools/train.py and
evaluates on the clean val split with the stock metric, once per training seed; see
benchmarks/suite.py. Results go to <results-dir>/results.json (finished cells are skipped on
re-runs, so an interrupted suite resumes where it stopped; records of cells that no study defines
any more - an older schedule, world or seed list - are pruned; several processes may share one
results file, each running its own cells, e.g. --only '*seed=1'), one markdown table per study
(mean +- sd over seeds) and plots.
"""
import argparse
import fnmatch
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from report import plots, targets_table, update_readme, write_report  # noqa: E402
from suite import (ROOT, expand, load_suite, locked_results, mini_data,  # noqa: E402
                   prune_results, run_suite)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--suite', default='mini', help='mini, full or a suite file')
    parser.add_argument('--study', action='append',
                        help='run only these studies (repeatable; default: all but ci)')
    parser.add_argument('--only', help="glob over cell labels 'task | method | defence ...'")
    parser.add_argument('--data-root', help="datasets root (default: the suite's data_root)")
    parser.add_argument('--results-dir', help='default benchmarks/results/<suite>')
    parser.add_argument('--work-dir', help='protected copies and training runs (default '
                        'work_dirs/benchmarks/<suite>)')
    parser.add_argument('--table-only', action='store_true',
                        help='only rewrite the tables and plots from results.json')
    parser.add_argument('--dry-run', action='store_true', help='list the cells and stop')
    return parser.parse_args(argv)


def _ensure_mini_data(suite, data_root: str) -> None:
    """(Re)write the mini datasets when missing or rendered by an older world version.

    A suite's ``mini_data`` may be False (bring your own data) or a dict of
    :func:`unseg_mm.datasets.mini.make_mini_datasets` arguments (``formats``, ``world``).
    """
    spec = mini_data(suite)
    if spec is None:
        return
    from unseg_mm.datasets.mini import FORMATS, make_mini_datasets, mini_world_is_current
    formats = spec.pop('formats', FORMATS)
    if mini_world_is_current(data_root, formats, spec.get('world')):
        return
    print(f'writing the mini datasets to {data_root}')
    make_mini_datasets(data_root, formats, show_progress=False, **spec)


def _reload(name: str):
    """The suite as its file reads now, or None (with a message) where it no longer loads."""
    try:
        return load_suite(name)
    except Exception as err:  # e.g. a half-saved edit: keep every record rather than guess
        print(f'the suite file no longer loads ({err}); no records pruned')
        return None


def main(argv=None) -> int:
    args = parse_args(argv)
    import unseg_mm  # noqa: F401  (compat shims and registrations)
    suite = load_suite(args.suite)
    name = osp.splitext(osp.basename(args.suite))[0]
    data_root = args.data_root or osp.join(ROOT, suite.data_root)
    results_dir = args.results_dir or osp.join(ROOT, 'benchmarks', 'results', name)
    work = args.work_dir or osp.join(ROOT, 'work_dirs', 'benchmarks', name)
    studies = args.study or [s for s in suite.studies if s != 'ci']
    cells = expand(suite, studies)
    if args.only:
        cells = [c for c in cells if fnmatch.fnmatch(c.label, args.only)]
    command = f'python benchmarks/run.py --suite {name}'
    if args.dry_run:
        for cell in cells:
            print(cell.label, f'(schedule {cell.schedule})')
        print(f'{len(cells)} cells')
        return 0
    results_path = osp.join(results_dir, 'results.json')
    if not args.table_only:
        if name == 'mini' or suite.get('mini_data'):
            _ensure_mini_data(suite, data_root)
        run_suite(suite, cells, data_root, work, results_path)
    # Pruned against the suite file as it reads now, not as it read when this run started: a
    # study added while a long run went on keeps the records other processes made for it.
    current = _reload(args.suite)
    with locked_results(results_path) as results:
        stale = prune_results(current, results) if current is not None else []
    if stale:
        print(f'pruned {len(stale)} records of cells that no study defines any more')
    tables = write_report(suite, results, studies, results_dir, command)
    written = plots(suite, results, results_dir, studies)
    targets = targets_table(suite, results, command)
    if targets:
        with open(osp.join(results_dir, 'targets.md'), 'w') as f:
            f.write(targets)
    if args.results_dir is None and not args.only:
        # The README's copy of the committed tables is rewritten from the same results, all
        # studies of the suite (those not run yet show as such), the targets first.
        everything = [s for s in suite.studies if s != 'ci']
        tables_all = write_report(suite, results, everything, results_dir, command)
        update_readme(osp.join(ROOT, 'README.md'), name,
                      dict(targets=targets, **tables_all) if targets else tables_all)
    for study in studies:
        print(tables[study])
    for path in written:
        print(f'plot: {osp.relpath(path, ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
