"""The benchmark matrix: cells (task x method x defence x study setting), how each is run, cached
and recorded. ``benchmarks/run.py`` is the command line; ``benchmarks/report.py`` the tables.

A cell:
1. protects the task's TRAIN split once per protection setting with the offline tool's code
   (``unseg_mm.apis.protect_dataset``; resumable, cached under the work folder);
2. writes a standalone config: the task's stock-pipeline config with ``UnSegProtect`` reading that
   protected copy (cache mode) right after loading, the defence, the schedule and the seed;
3. trains it with ``tools/train.py`` in a subprocess (resuming from the cell's last checkpoint
   after an interruption) - validation at the end runs on the CLEAN val split with the stock
   metric;
4. records metric, all validation metrics, the final training loss, wall times, seed, hardware
   and versions.
A cell's key is a hash of everything that defines it (the task's config as mmengine resolves it,
the weights it starts from, the protection, defence, schedule, its training seed and, on the
mini datasets, the world version they were rendered in), so finished cells are skipped and a
changed setting reruns only what it changes. Each setting runs once per training seed of the
suite (``seeds``; a task or study may set its own list): the protected images are the same for
every seed (the protection seed is the suite's ``seed``), only the model's initialisation and
data order change, so the spread over seeds is the noise band an effect must clear.
"""
import functools
import glob
import hashlib
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SUITES = osp.join(ROOT, 'benchmarks', 'suites')
PROTECTION_KEYS = ('mix_clean_ratio', 'classes', 'prompt_type', 'eps_object')


@dataclass
class Cell:
    study: str
    task: str
    method: str
    defence: str
    setting: Dict = field(default_factory=dict)  # the study's varied protection setting
    schedule: Optional[int] = None
    seed: int = 0  # training seed (model initialisation, data order)

    @property
    def label(self) -> str:
        extra = ''.join(f' {k}={_fmt(v)}' for k, v in self.setting.items())
        return f'{self.task} | {self.method} | {self.defence}{extra} | seed={self.seed}'

    def with_seed(self, seed: int) -> 'Cell':
        return replace(self, seed=seed)


def _fmt(value) -> str:
    if isinstance(value, float) and 0 < value < 1 and abs(value * 255 - round(value * 255)) < 1e-6:
        return f'{round(value * 255)}/255'
    if isinstance(value, (list, tuple)):
        return ','.join(map(str, value))
    return str(value)


def load_suite(name: str) -> Config:
    path = name if osp.isfile(name) else osp.join(SUITES, f'{name}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'no suite {name!r}: expected {path}')
    suite = Config.fromfile(path)
    for key in ('tasks', 'methods', 'defences', 'studies'):
        if key not in suite:
            raise ValueError(f'suite {path} lacks {key!r}')
    return suite


def training_seeds(suite: Config, study: str, task: str) -> List[int]:
    """The training seeds of ``task`` in ``study``: the study's ``seeds``, else the task's, else
    the suite's (default: the protection seed alone)."""
    spec = suite.studies[study]
    seeds = spec.get('seeds', suite.tasks[task].get('seeds', suite.get('seeds', [suite.seed])))
    return list(seeds)


def study_schedule(suite: Config, study: str, task: str):
    """The schedule of ``task`` in ``study``: the study's ``schedule`` for it, else the task's."""
    return suite.studies[study].get('schedule', {}).get(task, suite.tasks[task].get('schedule'))


def study_methods(suite: Config, study: str, task: str) -> List[str]:
    """The methods ``study`` runs on ``task``: its ``methods``, less those its ``method_tasks``
    (method -> the tasks it runs on) keeps to other tasks."""
    spec = suite.studies[study]
    only = spec.get('method_tasks', {})
    unknown = sorted(set(only) - set(spec.methods))
    if unknown:
        raise ValueError(f'study {study!r}: method_tasks names methods it does not run: {unknown}')
    return [m for m in spec.methods if task in only.get(m, [task])]


def expand(suite: Config, studies: Optional[List[str]] = None) -> List[Cell]:
    """All cells of the chosen studies (default: every study but ``ci``), in suite order, one per
    training seed."""
    names = studies or [s for s in suite.studies if s != 'ci']
    cells = []
    for name in names:
        if name not in suite.studies:
            raise ValueError(f'unknown study {name!r}; the suite has {sorted(suite.studies)}')
        study = suite.studies[name]
        vary = study.get('vary', {})
        settings = [{}] if not vary else [{k: v} for k, values in vary.items() for v in values]
        for task in study.tasks:
            if task not in suite.tasks:
                raise ValueError(f'study {name!r}: unknown task {task!r}')
            schedule = study_schedule(suite, name, task)
            for method in study_methods(suite, name, task):
                for defence in study.defences:
                    for setting in settings:
                        for seed in training_seeds(suite, name, task):
                            cells.append(Cell(name, task, method, defence, dict(setting),
                                              schedule, seed))
    return cells


# -- protection --------------------------------------------------------------------------------
def protection_settings(suite: Config, cell: Cell) -> Optional[dict]:
    """Everything that decides the published training images of ``cell`` (None: clean)."""
    method = suite.methods[cell.method]
    if method is None:
        return None
    task = suite.tasks[cell.task]
    eps = cell.setting.get('eps_object', method.get('eps_object', suite.eps_object))
    # A flat budget (``flat_budget=True``) puts the object budget on every pixel: then the
    # amplitude map carries nothing of the label (with 8/255 objects and 2/255 elsewhere, the map
    # alone is the union of the object masks).
    eps_bg = eps if method.get('flat_budget') else suite.eps_background * eps / suite.eps_object
    checkpoint = method.get('checkpoint')
    settings = dict(method=method['method'], options=dict(method.get('options', {})),
                    checkpoint=checkpoint, format=task.format, root=task.root,
                    eps_object=eps, eps_background=eps_bg,
                    prompt_type=cell.setting.get('prompt_type', 'mask'),
                    classes=cell.setting.get('classes'),
                    mix_clean_ratio=cell.setting.get('mix_clean_ratio', 0.0), seed=suite.seed,
                    extraction=dict(task.get('protect', {})), data=data_version(suite))
    # the classes protected as background: the method's choice, else the format's default for
    # the generator (things only where every pixel is labelled); only where there are any, so
    # the other cells keep their keys
    from unseg_mm.apis.dataset_formats import background_class_names
    from unseg_mm.apis.methods import is_prompted
    background = background_class_names(task.format, method.get('background_classes'),
                                        is_prompted(method['method']))
    if background:
        settings['background_classes'] = list(background)
    from unseg_mm.apis.protect import RECORDED_WHERE_SET
    for name, default in RECORDED_WHERE_SET.items():  # only where set: other cells keep keys
        if method.get(name, default) != default:
            settings[name] = method[name]
    if checkpoint:
        # The weights' digest, not only their path: a retrained generator at the same path makes
        # its cells and its protected copies stale. (Only where there are weights, so the other
        # methods' cells keep their keys.)
        settings['checkpoint_sha'] = file_sha256(checkpoint)
    return settings


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def protect_train_split(settings: dict, data_root: str, work: str, device: str = 'cpu') -> str:
    """The protected copy of the task's dataset for ``settings`` (made once; resumable)."""
    from unseg_mm.apis.methods import build_method
    from unseg_mm.apis.protect import RECORDED_WHERE_SET, ProtectConfig
    from unseg_mm.apis.progress import complete_manifest
    from unseg_mm.apis.protect_dataset import Options, protect_dataset
    dst = osp.join(work, 'protected', f'{settings["format"]}-{settings["method"]}-'
                   f'{_digest(settings)}')
    if complete_manifest(dst) is not None:
        return dst
    cfg = ProtectConfig(eps_object=settings['eps_object'],
                        eps_background=settings['eps_background'],
                        prompt_type=settings['prompt_type'], seed=settings['seed'],
                        device=device, batch_size=1,
                        **{name: settings[name] for name in RECORDED_WHERE_SET
                           if name in settings})
    opts = Options(fmt=settings['format'], src=osp.join(data_root, settings['root']), dst=dst,
                   classes=settings['classes'],
                   background_classes=settings.get('background_classes', []),
                   mix_clean_ratio=settings['mix_clean_ratio'],
                   show_progress=False)
    checkpoint = settings['checkpoint']
    method = build_method(settings['method'], cfg,
                          osp.join(ROOT, checkpoint) if checkpoint else None,
                          options=settings['options'])
    out = protect_dataset(opts, cfg, method)
    if not (out['manifest'] or {}).get('complete'):
        raise RuntimeError(f'protecting {opts.src} failed: {out["summary"].failed[:3]}')
    return dst


# -- the cell's config -------------------------------------------------------------------------
def config_data_root(suite: Config) -> str:
    """The datasets root the task configs' paths are written against: the suite's
    ``config_data_root`` (a suite that trains the same configs on other data), else its
    ``data_root``."""
    return suite.get('config_data_root', suite.data_root)


def cell_config(suite: Config, cell: Cell, data_root: str, protected: Optional[str],
                work_dir: str) -> Config:
    from unseg_mm.apis.config_utils import (rebase_paths, set_schedule, with_adversarial_training,
                                            with_defence, with_protection)
    task = suite.tasks[cell.task]
    cfg = Config.fromfile(_config_path(task.config))
    written_for = config_data_root(suite)
    if osp.normpath(data_root) != osp.normpath(written_for):
        rebase_paths(cfg, written_for, data_root)
    dataset = cfg.train_dataloader.dataset
    settings = protection_settings(suite, cell)
    if protected is not None:
        transform = dict(type='UnSegProtect',
                         cache=dict(src_root=osp.join(data_root, task.root),
                                    protected_root=protected))
        dataset = with_protection(dataset, transform)
        assert settings is not None
    defence = suite.defences[cell.defence]
    if defence and defence.get('transform'):
        dataset = with_defence(dataset, defence['transform'])
    cfg.train_dataloader.dataset = dataset
    if defence and defence.get('adversarial'):
        model = with_adversarial_training(cfg.model, **defence['adversarial'])
        model.pop('_delete_')
        cfg.model = model
    if cell.schedule:
        set_schedule(cfg, cell.schedule)
        # Four checkpoints per run: an interrupted cell resumes from the latest.
        cfg.default_hooks.checkpoint.interval = max(1, cell.schedule // 4)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    cfg.randomness = dict(seed=cell.seed)
    cfg.work_dir = work_dir
    return cfg


def _config_path(config: str) -> str:
    """A repository config, or a stock one (``mmseg::...``) inside its installed package."""
    if '::' in config:
        from mmengine.config.utils import _get_package_and_cfg_path
        from mmengine.utils import get_installed_path
        package, rel = _get_package_and_cfg_path(config)
        return osp.join(get_installed_path(package), '.mim', 'configs', rel)
    return osp.join(ROOT, config)


# What defines a task's runs besides its config, which counts as resolved (names, metric and
# display scale only label them; the config's file name does not count either).
TASK_RUN_KEYS = ('format', 'root', 'protect')


def mini_data(suite: Config) -> Optional[dict]:
    """A suite's ``mini_data``: None where it brings its own data (``mini_data=False``), else the
    :func:`unseg_mm.datasets.mini.make_mini_datasets` arguments it chose (``formats``,
    ``world``; empty: every format in its default world)."""
    spec = suite.get('mini_data')
    if spec is False:
        return None
    return dict(spec) if isinstance(spec, dict) else {}


def data_version(suite: Config) -> Optional[str]:
    """The world version of the synthetic mini datasets a suite trains on (None: real data),
    with the world the suite chose for them (``mini_data=dict(world=...)``), if any."""
    spec = mini_data(suite)
    if spec is None:
        return None
    from unseg_mm.datasets.mini import WORLD_VERSION
    world = spec.get('world')
    return f'{WORLD_VERSION}/{world}' if world else WORLD_VERSION


@functools.lru_cache(maxsize=None)
def file_sha256(path: str) -> Optional[str]:
    """SHA-256 of a file (relative paths from the repository root); None if it is missing."""
    from unseg_mm.apis.fileio import file_sha256 as sha256_of
    path = path if osp.isabs(path) else osp.join(ROOT, path)
    return sha256_of(path) if osp.isfile(path) else None


@functools.lru_cache(maxsize=None)
def _resolved_config(config: str) -> dict:
    """A config as mmengine resolves it (its ``_base_`` files merged in), parsed once per run."""
    return Config.fromfile(_config_path(config)).to_dict()


@functools.lru_cache(maxsize=None)
def _init_checkpoints(config: str) -> Dict[str, str]:
    """``{path: sha256}`` of the weights a config's ``init_cfg`` entries load (e.g. the mini
    backbone's pretraining): retraining them makes the cells that used them stale."""
    found = {}

    def walk(node):
        if isinstance(node, dict):
            checkpoint = node.get('checkpoint')
            if node.get('type') == 'Pretrained' and isinstance(checkpoint, str):
                digest = file_sha256(checkpoint)
                if digest:
                    found[checkpoint] = digest
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(_resolved_config(config).get('model', {}))
    return found


@functools.lru_cache(maxsize=None)
def resolved_config_sha(config: str) -> str:
    """SHA-256 of a config as mmengine resolves it (its ``_base_`` files merged in), as canonical
    JSON: a change to any file it inherits changes it, moving settings between a config and its
    bases does not. Top-level names starting with '_' are left out: they are helpers that
    configs read through ``_base_`` (e.g. ``configs/mini/_base_/mini_runtime.py``) and the
    runner never does, so only what they put into the real keys counts."""
    resolved = {name: value for name, value in _resolved_config(config).items()
                if not name.startswith('_')}
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()


def cell_key(suite: Config, cell: Cell, protection: Optional[dict] = None) -> str:
    """The digest results are recorded under: the task's run, ``protection`` (default: the
    cell's :func:`protection_settings`), defence, schedule, seed and data."""
    config = suite.tasks[cell.task].config
    task = {k: suite.tasks[cell.task].get(k) for k in TASK_RUN_KEYS}
    task['resolved_config_sha'] = resolved_config_sha(config)
    weights = dict(_init_checkpoints(config))
    if weights:  # only keyed where present, so other tasks keep their keys
        task['init_checkpoints'] = weights
    if protection is None:
        protection = protection_settings(suite, cell)
    return _digest(dict(task=task, protection=protection,
                        defence=suite.defences[cell.defence], schedule=cell.schedule,
                        seed=cell.seed, data=data_version(suite)))


# -- running -----------------------------------------------------------------------------------
def _logged_scalars(work_dir: str, since: float = 0.0):
    """Every scalar record the mmengine run(s) in ``work_dir`` logged, oldest run first (only
    runs whose log was written after ``since``)."""
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        if osp.getmtime(path) < since:
            continue
        with open(path) as f:
            for line in f:
                yield json.loads(line)


def _latest_metrics(work_dir: str, since: float) -> dict:
    """The last validation metrics logged by the mmengine run(s) in ``work_dir``."""
    metrics = {}
    for record in _logged_scalars(work_dir, since):
        if not any(k in record for k in ('lr', 'loss')) and len(record) > 1:
            metrics = record
    return metrics


def final_train_loss(work_dir: str, share: float = 0.1) -> Optional[float]:
    """Mean total training loss over the last ``share`` of the logged training iterations of
    every mmengine run in ``work_dir`` (a resumed run continues the steps of the earlier one).

    Protected training data that carries a shortcut shows up here: the model fits it, so
    its training loss falls below the clean run's (the error-minimising signature). None when the
    work dir has no training log."""
    losses = {int(record['step']): float(record['loss']) for record in _logged_scalars(work_dir)
              if 'loss' in record and 'step' in record}
    if not losses:
        return None
    steps = sorted(losses)
    tail = steps[-max(1, round(len(steps) * share)):]
    return round(sum(losses[s] for s in tail) / len(tail), 4)


def _evaluate_last_checkpoint(work_dir: str, config_file: str) -> dict:
    if not osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return {}
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    out = osp.join(work_dir, 'final_checkpoint_metrics.json')
    command = [sys.executable, osp.join(ROOT, 'tools', 'test.py'), config_file, checkpoint,
               '--work-dir', work_dir, '--out', out]
    with open(osp.join(work_dir, 'train.log'), 'a') as log:
        code = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    if code != 0 or not osp.isfile(out):
        return {}
    with open(out) as f:
        return json.load(f)


def environment() -> dict:
    import mmcv
    import mmdet
    import mmengine
    import mmseg
    import torch
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return dict(hardware=f'{platform.machine()} CPU, {os.cpu_count()} cores'
                + (f', {torch.cuda.get_device_name()}' if torch.cuda.is_available() else ''),
                python=platform.python_version(), torch=torch.__version__,
                mmengine=mmengine.__version__, mmcv=mmcv.__version__, mmseg=mmseg.__version__,
                mmdet=mmdet.__version__, commit=commit)


def run_cell(suite: Config, cell: Cell, data_root: str, work: str, log) -> dict:
    key = cell_key(suite, cell)
    work_dir = osp.join(work, 'cells', key)
    os.makedirs(work_dir, exist_ok=True)
    settings = protection_settings(suite, cell)
    start = time.time()
    protected = protect_train_split(settings, data_root, work, suite.get('device', 'cpu')) \
        if settings else None
    protect_s = time.time() - start
    cfg = cell_config(suite, cell, data_root, protected, work_dir)
    config_file = osp.join(work_dir, 'cell_config.py')
    cfg.dump(config_file)
    command = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config_file,
               '--work-dir', work_dir]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        command.append('--resume')
    train_start = time.time()
    with open(osp.join(work_dir, 'train.log'), 'a') as out:
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
    train_s = time.time() - train_start
    if code != 0:
        raise RuntimeError(f'{cell.label}: training failed (exit {code}); see '
                           f'{osp.join(work_dir, "train.log")}')
    metrics = _latest_metrics(work_dir, train_start)
    metric = suite.tasks[cell.task].metric
    if metric not in metrics:
        # Training had already finished before this run (it resumed at its last iteration),
        # but the record was lost, e.g. the suite was killed during the final validation or
        # before saving: evaluate the final checkpoint on the clean val split instead.
        metrics = _evaluate_last_checkpoint(work_dir, config_file)
    if metric not in metrics:
        raise RuntimeError(f'{cell.label}: no {metric!r} in the validation log of {work_dir} '
                           f'nor from testing its last checkpoint; see its train.log')
    return dict(key=key, study=cell.study, task=cell.task, method=cell.method,
                defence=cell.defence, setting=cell.setting, schedule=cell.schedule,
                metric=metric, value=float(metrics[metric]),
                metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float))},
                train_loss=final_train_loss(work_dir),
                protect_s=round(protect_s, 1), train_s=round(train_s, 1), seed=cell.seed,
                data=data_version(suite),
                protection=settings, config=osp.relpath(config_file, ROOT),
                command=' '.join(osp.relpath(c, ROOT) if c.startswith(ROOT) else c
                                 for c in command), **environment())


def load_results(path: str) -> dict:
    """The results file's records (an empty set when there is none yet)."""
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return dict(cells={})


def save_results(results: dict, path: str) -> None:
    from unseg_mm.apis.fileio import atomic_output
    os.makedirs(osp.dirname(path), exist_ok=True)
    with atomic_output(path) as tmp:
        with open(tmp, 'w') as f:
            json.dump(results, f, indent=1, sort_keys=True)


@contextmanager
def locked_results(path: str):
    """The results file's records, to change in place; written back on exit.

    Read, change and write happen under an exclusive lock, so several suite processes (e.g. one
    per seed or per task, each with its own cells, run side by side) can share one results
    file: none drops what another added."""
    import fcntl
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = load_results(path)
        yield results
        save_results(results, path)


def record_result(path: str, key: str, record: dict) -> dict:
    """Add one cell's record to the results file; returns the file's records."""
    with locked_results(path) as results:
        results['cells'][key] = record
    return results


def prune_results(suite: Config, results: dict) -> List[dict]:
    """Drop the records of cells that no study of ``suite`` defines any more (an older schedule,
    world, seed list or setting), so that results files hold only current cells. Returns the
    dropped records."""
    current = {cell_key(suite, c) for c in expand(suite, list(suite.studies))}
    stale = [k for k in results['cells'] if k not in current]
    return [results['cells'].pop(k) for k in stale]


def run_suite(suite: Config, cells: List[Cell], data_root: str, work: str, results_path: str,
              log=print) -> dict:
    """Run every cell not yet in ``results_path`` (same key), recording each as it finishes
    (other processes may add cells to the same file meanwhile)."""
    results = load_results(results_path)
    for i, cell in enumerate(cells, 1):
        key = cell_key(suite, cell)
        record = load_results(results_path)['cells'].get(key)  # another process may have run it
        if record is not None:
            log(f'[{i}/{len(cells)}] {cell.label}: cached ({record["metric"]} '
                f'{record["value"]:.2f})')
            if 'train_loss' not in record:  # recorded before the field existed: from its logs
                loss = final_train_loss(osp.join(work, 'cells', key))
                if loss is not None:
                    record['train_loss'] = loss
                    results = record_result(results_path, key, record)
            continue
        log(f'[{i}/{len(cells)}] {cell.label}: running')
        record = run_cell(suite, cell, data_root, work, log)
        results = record_result(results_path, key, record)
        log(f'[{i}/{len(cells)}] {cell.label}: {record["metric"]} {record["value"]:.2f} '
            f'({record["train_s"]:.0f} s)')
    return results

