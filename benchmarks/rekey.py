"""Carry recorded cells over to new cell keys where the published training images are unchanged.

A cell's key digests everything that decides its training images, including the generator
file's SHA-256. A change that rewrites a generator file, or moves the suite to another file,
without changing what it publishes on a task (e.g. a publishing default recorded in its metadata
that a task's images never reach) changes the keys of every cell that uses it, and
``run.py`` would train them all again. This finds, for every cell of the suite that has no
record, the recorded cells that differ from it only in the protection's generator file and in
the settings that change how it publishes (``RECORDED_WHERE_SET``: pattern window, upsampling,
class keys) with everything else in the key the same; protects the task's training split under
both settings and, where every published file and its numerical path is byte-identical, records
the old result under the new key (with ``rekeyed_from``: the old key, and ``rekeyed_at``: this
commit). Candidates use a generator file with the same weights (tensors); nothing is carried
over on a settings match alone.

    python benchmarks/rekey.py --suite mini [--only GLOB] [--dry-run]

Run it before anything that prunes the results file against the changed suite (``run.py``
drops the records of cells no study defines).
"""
import argparse
import copy
import fnmatch
import functools
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from suite import (cell_key, expand, load_suite, locked_results, protect_train_split,  # noqa
                   protection_settings)

# settings a candidate may differ in (besides the RECORDED_WHERE_SET fields)
GENERATOR_FIELDS = ('checkpoint', 'checkpoint_sha')


def published_files(dst: str) -> dict:
    """``{path: (status, output sha256, numerics)}`` of a protected copy's manifest."""
    from unseg_mm.apis.progress import complete_manifest
    manifest = complete_manifest(dst)
    if manifest is None:
        raise RuntimeError(f'{dst}: the protected copy is not complete')
    return {image['path']: (image['status'], image.get('out_sha256'), image.get('numerics'))
            for image in manifest['images']}


@functools.lru_cache(maxsize=None)
def weights_digest(checkpoint: str) -> str:
    """SHA-256 over a generator file's tensors (names, dtypes, shapes, values), not its metadata."""
    import hashlib

    from unseg_mm.apis.checkpoint import read_generator_file
    state = read_generator_file(osp.join(ROOT, checkpoint))['state_dict']
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].contiguous().cpu()
        digest.update(f'{name}:{tensor.dtype}:{tuple(tensor.shape)}'.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def candidates(suite, cell, settings: dict, records: dict):
    """Recorded cells that may publish the same images as ``cell`` (``settings``): a generator
    file with the same weights (its metadata may differ), the publishing fields free, every
    other part of the protection and of the key the same."""
    from unseg_mm.apis.protect import RECORDED_WHERE_SET
    free = set(GENERATOR_FIELDS) | set(RECORDED_WHERE_SET)
    # as recorded (JSON: tuples are lists), which is also what the key digests
    fixed = json.loads(json.dumps({k: v for k, v in settings.items() if k not in free},
                                  default=str))
    for key, record in records.items():
        old = record.get('protection')
        if not old or not old.get('checkpoint') or old == settings:
            continue
        if {k: v for k, v in old.items() if k not in free} != fixed:
            continue
        if not osp.isfile(osp.join(ROOT, old['checkpoint'])) or \
                weights_digest(old['checkpoint']) != weights_digest(settings['checkpoint']):
            continue
        if cell_key(suite, cell, protection=old) == key:
            yield key, record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--suite', default='mini')
    parser.add_argument('--only', help="glob over cell labels 'task | method | defence ...'")
    parser.add_argument('--data-root', help="datasets root (default: the suite's data_root)")
    parser.add_argument('--results-dir', help='default benchmarks/results/<suite>')
    parser.add_argument('--work-dir', help='scratch for the protected copies compared (default '
                        'work_dirs/benchmarks/<suite>/rekey, removed afterwards)')
    parser.add_argument('--num-threads', type=int, help='CPU threads of the generator (default: '
                        "torch's; the copies compared are made alike either way)")
    parser.add_argument('--dry-run', action='store_true',
                        help='list the cells and their candidates, protect nothing')
    args = parser.parse_args(argv)
    import torch

    import unseg_mm  # noqa: F401  (compat shims and registrations)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    suite = load_suite(args.suite)
    name = osp.splitext(osp.basename(args.suite))[0]
    data_root = args.data_root or osp.join(ROOT, suite.data_root)
    results_dir = args.results_dir or osp.join(ROOT, 'benchmarks', 'results', name)
    results_path = osp.join(results_dir, 'results.json')
    scratch = args.work_dir or osp.join(ROOT, 'work_dirs', 'benchmarks', name, 'rekey')
    # a destination pins its numerical path: copies made with other thread counts cannot be
    # compared byte for byte, so each count has its own scratch
    work = osp.join(scratch, f'threads{torch.get_num_threads()}')
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or None
    with open(results_path) as f:
        records = json.load(f)['cells']
    cells = expand(suite, list(suite.studies))
    if args.only:
        cells = [c for c in cells if fnmatch.fnmatch(c.label, args.only)]
    published = {}  # settings digest -> published files

    def files_of(settings: dict) -> dict:
        digest = json.dumps(settings, sort_keys=True, default=str)
        if digest not in published:
            published[digest] = published_files(protect_train_split(settings, data_root, work))
        return published[digest]

    carried, missing = {}, 0
    seen = set()
    for cell in cells:
        key = cell_key(suite, cell)
        settings = protection_settings(suite, cell)
        if key in records or key in seen or not settings or not settings.get('checkpoint'):
            continue
        seen.add(key)
        found = list(candidates(suite, cell, settings, records))
        if not found:
            missing += 1
            if args.dry_run:
                print(f'{cell.label}: no candidate')
            continue
        # the candidates that publish alike first (same publishing fields), then the others
        found.sort(key=lambda kr: sum(kr[1]['protection'].get(k) != settings.get(k)
                                      for k in settings.keys() | kr[1]['protection'].keys()))
        for old_key, record in found:
            if args.dry_run:
                print(f'{cell.label}: candidate {old_key} ({record["study"]} / '
                      f'{record["method"]})')
                continue
            if files_of(settings) != files_of(record['protection']):
                print(f'{cell.label}: {old_key} published other images; not carried')
                continue
            new = copy.deepcopy(record)
            new.update(key=key, protection=settings, study=cell.study, method=cell.method,
                       rekeyed_from=old_key, rekeyed_at=commit)
            carried[key] = new
            print(f'{cell.label}: {old_key} -> {key} ({record["metric"]} {record["value"]:.2f})')
            break
    if carried:
        with locked_results(results_path) as results:
            for key, record in carried.items():
                results['cells'].setdefault(key, record)
    if osp.isdir(scratch) and args.work_dir is None:
        shutil.rmtree(scratch)
    print(f'{len(carried)} cells carried over; {missing} cells without a candidate')
    return 0


if __name__ == '__main__':
    os.chdir(ROOT)
    sys.exit(main())
