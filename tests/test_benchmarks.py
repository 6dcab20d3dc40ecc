"""The benchmark suite: cell expansion, cell configs, caching/resume and the tables."""
import json
import os
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT, config_path
from unseg_mm.apis.config_utils import set_schedule

sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
from report import study_table, target_row, targets_table, update_readme  # noqa: E402
from suite import (Cell, cell_config, cell_key, data_version, expand,  # noqa: E402
                   final_train_loss, load_results, load_suite, protection_settings,
                   prune_results, record_result, run_suite, save_results, training_seeds)


def test_set_schedule_rewrites_loop_schedulers_and_intervals():
    cfg = Config.fromfile(config_path('mini', 'mask2former_r18_mini-coco-panoptic.py'))
    set_schedule(cfg, 60)
    assert cfg.train_cfg.max_iters == 60 and cfg.train_cfg.val_interval == 60
    assert cfg.param_scheduler[0]['end'] == 60 and cfg.param_scheduler[0]['milestones'] == [50]
    assert cfg.default_hooks.checkpoint.interval == 60
    logged = cfg.default_hooks.logger.interval
    set_schedule(cfg, 3)  # shorter than the logging interval: log at its end
    assert cfg.default_hooks.logger.interval == 3 < logged
    dino = Config.fromfile(config_path('mini', 'dino_r18_mini-coco.py'))
    set_schedule(dino, 3)
    assert dino.train_cfg.max_epochs == 3 and dino.train_cfg.val_interval == 3
    assert dino.param_scheduler[0]['end'] == 3 and dino.param_scheduler[0]['milestones'] == [2]
    with pytest.raises(ValueError):
        set_schedule(dino, 0)


def test_mini_suite_expands_to_the_documented_matrix():
    suite = load_suite('mini')
    main = expand(suite, ['main'])
    assert len(main) == sum(5 * len(training_seeds(suite, 'main', t)) for t in suite.tasks)
    assert {c.method for c in main} == {'clean', 'unseg', 'synper', 'ar', 'cuda'}
    assert training_seeds(suite, 'main', 'voc_deeplabv3') == [0, 1, 2]
    assert all(len(training_seeds(suite, s, t)) >= 2 for s in suite.studies if s != 'ci'
               for t in suite.studies[s].tasks)
    # Every task carries both controls in the calibration study; its cells include main's. The
    # budget split's diagnostics run on VOC only (method_tasks).
    calibration = expand(suite, ['calibration'])
    for task in suite.tasks:
        methods = {c.method for c in calibration if c.task == task}
        assert {'uniform_flat', 'grating', 'grating_16', 'synper', 'ar', 'cuda'} <= methods
        assert ('uniform' in methods) == ('unseg_split' in methods) == (task == 'voc_deeplabv3')
    window = expand(suite, ['window'])
    assert {c.task for c in window if c.method == 'unseg_window160'} == {'cityscapes_deeplabv3'}
    assert {c.task for c in window if c.method == 'unseg_window128'} == set(
        suite.studies.window.tasks)
    assert {cell_key(suite, c) for c in main} <= {cell_key(suite, c) for c in calibration}
    # One seed differs from another only in the training seed: same protected copy.
    first, second = [c for c in main if c.task == 'voc_deeplabv3' and c.method == 'unseg'][:2]
    assert first.seed != second.seed and cell_key(suite, first) != cell_key(suite, second)
    assert protection_settings(suite, first) == protection_settings(suite, second)
    # The negative control has one budget on every pixel (its amplitude map says nothing of the
    # label); `uniform` keeps the region budgets of every method.
    flat = protection_settings(suite, Cell('calibration', 'voc_deeplabv3', 'uniform_flat', 'none'))
    split = protection_settings(suite, Cell('calibration', 'voc_deeplabv3', 'uniform', 'none'))
    assert flat['method'] == split['method'] == 'uniform'
    assert flat['eps_background'] == flat['eps_object'] == split['eps_object'] == 8 / 255
    assert split['eps_background'] == 2 / 255
    ci = expand(suite, ['ci'])
    assert {(c.task, c.method) for c in ci} == {
        (t, m) for t in ('voc_deeplabv3', 'ade20k_mask2former', 'coco_dino')
        for m in ('clean', 'unseg')}
    assert all(c.schedule < suite.tasks[c.task].schedule for c in ci)
    assert {c.seed for c in ci} == {0}
    assert 'ci' not in {c.study for c in expand(suite)}
    # The same settings in two studies are one cell (one run, one key).
    eps8 = [c for c in expand(suite, ['eps'])
            if c.method == 'unseg' and c.setting['eps_object'] == 8 / 255][0]
    mix0 = [c for c in expand(suite, ['mix'])
            if c.method == 'unseg' and c.setting['mix_clean_ratio'] == 0][0]
    assert cell_key(suite, eps8) == cell_key(suite, mix0)
    cleans = {cell_key(suite, c) for c in expand(suite, ['mix', 'eps', 'prompt'])
              if c.method == 'clean'}
    # one clean reference run per training seed serves every setting
    assert len(cleans) == len(training_seeds(suite, 'mix', 'voc_deeplabv3'))
    with pytest.raises(ValueError, match='unknown study'):
        expand(suite, ['nope'])
    suite.studies.window.method_tasks['unseg_nope'] = ['voc_deeplabv3']
    with pytest.raises(ValueError, match="method_tasks names methods it does not run"):
        expand(suite, ['window'])


def test_the_bundled_generator_is_one_file_everywhere():
    """mmengine configs cannot import the package constant (an import makes a base config a
    lazy-import config), so the suite and the mini transform base repeat the path: they must name
    the file the package bundles, and that file must exist."""
    from unseg_mm.apis.checkpoint import BUNDLED_GENERATOR
    assert osp.isfile(osp.join(REPO_ROOT, BUNDLED_GENERATOR))
    assert load_suite('mini').generator == BUNDLED_GENERATOR
    base = Config.fromfile(config_path('mini', '_base_', 'bundled_unseg_protect.py'))
    assert base.unseg_protect.checkpoint == BUNDLED_GENERATOR
    voc = Config.fromfile(config_path('mini', 'deeplabv3_r18_unseg_mini-voc.py'))
    assert BUNDLED_GENERATOR in str(voc.train_dataloader)


def test_cell_config_reads_the_protected_copy_and_applies_the_defence(tmp_path):
    suite = load_suite('mini')
    cell = Cell('defences', 'voc_deeplabv3', 'unseg', 'jpeg10', {}, 50)
    cfg = cell_config(suite, cell, '/data/mini', '/prot', str(tmp_path))
    for leaf in cfg.train_dataloader.dataset.datasets:
        types = [t['type'] for t in leaf['pipeline']]
        assert types[:4] == ['LoadImageFromFile', 'LoadAnnotations', 'UnSegProtect',
                             'JPEGCompression']
        assert leaf['pipeline'][2]['cache'] == dict(src_root='/data/mini/VOCdevkit/VOC2012',
                                                    protected_root='/prot')
        assert leaf['data_root'] == '/data/mini/VOCdevkit/VOC2012'
    assert 'UnSegProtect' not in str(cfg.val_dataloader)
    assert cfg.train_cfg.max_iters == 50
    at = cell_config(suite, Cell('defences', 'voc_deeplabv3', 'clean', 'pgd_at', {}, 50),
                     '/data/mini', None, str(tmp_path))
    assert at.model.type == 'PGDAdversarialTraining' and at.model.model.type == 'EncoderDecoder'
    assert 'UnSegProtect' not in str(at.train_dataloader)


def test_two_cells_run_are_cached_and_tabled(mini_root, tmp_path):
    suite_file = tmp_path / 'tiny_suite.py'
    suite_file.write_text(
        f"_base_ = '{osp.join(REPO_ROOT, 'benchmarks', 'suites', 'mini.py')}'\n"
        "studies = dict(_delete_=True, t=dict(title='two cells', tasks=['voc_deeplabv3'], "
        "methods=['clean', 'synper'], defences=['none'], schedule=dict(voc_deeplabv3=2), "
        "seeds=[0]))\n")
    suite = load_suite(str(suite_file))
    cells = expand(suite, ['t'])
    results_path = str(tmp_path / 'results' / 'results.json')
    logs = []
    results = run_suite(suite, cells, mini_root, str(tmp_path / 'work'), results_path,
                        log=logs.append)
    records = list(results['cells'].values())
    assert len(records) == 2
    for record in records:
        assert record['metric'] == 'mIoU' and 0 <= record['value'] <= 100
        assert record['schedule'] == 2 and record['seed'] == 0
        assert record['hardware'] and record['torch']
    synper = next(r for r in records if r['method'] == 'synper')
    assert synper['protection']['method'] == 'synper'
    with open(results_path) as f:
        saved = json.load(f)['cells']
    assert {k: v['value'] for k, v in saved.items()} == \
        {k: v['value'] for k, v in results['cells'].items()}
    for record in records:  # the training loss comes from the run's own log
        assert record['train_loss'] == final_train_loss(
            str(tmp_path / 'work' / 'cells' / record['key'])) > 0
    # a record saved before the field existed gets it from the cell's logs, without retraining
    losses = {k: r.pop('train_loss') for k, r in results['cells'].items()}
    save_results(results, results_path)
    logs.clear()
    run_suite(suite, cells, mini_root, str(tmp_path / 'work'), results_path, log=logs.append)
    assert all('cached' in line for line in logs) and len(logs) == 2
    with open(results_path) as f:
        assert {k: r['train_loss'] for k, r in json.load(f)['cells'].items()} == losses
    table = study_table(suite, results, 't', 'cmd')
    clean = next(r for r in records if r['method'] == 'clean')['value']
    assert f'{clean:.2f}' in table and '2 of 2 runs done' in table
    # A record is lost but its trained run is not (killed before saving): re-running evaluates
    # the final checkpoint instead of failing or retraining; the other cell stays cached.
    lost = synper['key']
    saved = load_results(results_path)
    del saved['cells'][lost]
    save_results(saved, results_path)
    logs.clear()
    again = run_suite(suite, cells, mini_root, str(tmp_path / 'work'), results_path,
                      log=logs.append)
    assert sum('running' in line for line in logs) == 1
    assert sum('cached' in line for line in logs) == 1
    assert {k: v['value'] for k, v in again['cells'].items()} == \
        {k: v['value'] for k, v in results['cells'].items()}
    assert 'final_checkpoint_metrics.json' in os.listdir(str(tmp_path / 'work' / 'cells' / lost))


def test_final_train_loss_averages_the_last_tenth_across_resumed_runs(tmp_path):
    def log(run, records):
        path = tmp_path / run / 'vis_data'
        path.mkdir(parents=True)
        (path / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))

    assert final_train_loss(str(tmp_path)) is None
    # first run logged steps 10..100 (loss 1.0) and died; the resumed run re-logged 100 and went
    # on to 200 (loss 0.5 from 160 on); validation records carry no loss and are ignored
    log('20260101_000000', [dict(step=s, loss=1.0, lr=0.1) for s in range(10, 101, 10)])
    log('20260101_010000', [dict(step=s, loss=0.5 if s >= 160 else 0.9, lr=0.1)
                            for s in range(100, 201, 10)] + [dict(step=200, mIoU=50.0)])
    assert final_train_loss(str(tmp_path)) == 0.5  # 20 logged steps: the last 2 (190, 200)
    assert final_train_loss(str(tmp_path), share=0.25) == 0.5  # last 5: 160..200
    assert final_train_loss(str(tmp_path), share=0.5) == pytest.approx((5 * 0.5 + 5 * 0.9) / 10)


def test_varied_study_table_names_the_method_of_each_row():
    suite = load_suite('mini')
    cells = expand(suite, ['eps'])
    env = dict(hardware='cpu', torch='t', mmseg='s', mmdet='d', mmcv='c', commit='x')
    results = dict(cells={cell_key(suite, c): dict(value=10.0 + i, **env)
                          for i, c in enumerate(cells)})
    table = study_table(suite, results, 'eps', 'cmd')
    rows = [line for line in table.splitlines() if line.startswith('| VOC')]
    # one row per setting (its seeds aggregated); the clean run is the reference column
    assert len(rows) == sum(c.method != 'clean' and c.seed == 0 for c in cells) == 12
    assert all(row.endswith('| - | - |') for row in rows)  # no training loss was recorded
    for method in ('unseg', 'synper', 'grating', 'grating_objects'):
        assert sum(f'| {method} |' in row for row in rows) == 3
    assert any('| grating | 32/255 |' in row for row in rows)


def _fake_results(suite, cells, value):
    env = dict(hardware='cpu', torch='t', mmseg='s', mmdet='d', mmcv='c', commit='x')
    return dict(cells={cell_key(suite, c): dict(value=value(c), train_loss=0.5, **env)
                       for c in cells})


def test_tables_give_mean_and_sd_over_seeds_and_mark_only_effects_outside_the_noise():
    suite = load_suite('mini')
    cells = [c for c in expand(suite, ['calibration']) if c.task == 'voc_deeplabv3']
    clean = {0: 60.0, 1: 62.0, 2: 64.0}
    # grating: a clear drop on every seed; uniform: scattered around clean; synper: one seed
    # missing; the rest not run.
    value = {'clean': lambda s: clean[s], 'grating': lambda s: clean[s] * (0.3 + 0.01 * s),
             'uniform': lambda s: clean[s] * (0.95, 1.05, 1.0)[s], 'synper': lambda s: 30.0}
    run = [c for c in cells if c.method in value and not (c.method == 'synper' and c.seed == 2)]
    results = _fake_results(suite, run, lambda c: value[c.method](c.seed))
    table = study_table(suite, results, 'calibration', 'cmd')
    rows = {line.split(' | ')[1]: line for line in table.splitlines()
            if line.startswith('| VOC')}
    assert '| 62.00 ± 2.00 |' in rows['grating']  # the clean column: mean ± sd of 3 seeds
    assert '| 0.31 ± 0.01 ↓ |' in rows['grating']
    assert '| 1.00 ± 0.05 |' in rows['uniform']  # inside the noise: no mark
    assert '(2 of 3 seeds)' in rows['synper']
    assert '| not run |' in rows['cuda']
    assert 'grating @ 16/255' in rows  # a method with its own budget is labelled with it
    # the budget column is read from the cells' protection settings, not from the title
    assert '| grating | 8/255 / 2/255 | mIoU |' in rows['grating']
    assert '| grating @ 16/255 | 16/255 / 4/255 |' in rows['grating @ 16/255']
    assert '| unseg | 8/255 everywhere |' in rows['unseg']
    assert f"{len(run)} of {len(expand(suite, ['calibration']))} runs done" in table


def test_targets_are_met_only_where_the_seeds_say_so():
    suite = load_suite('mini')
    cells = [c for c in expand(suite, ['calibration']) if c.task == 'voc_deeplabv3']
    clean = {0: 60.0, 1: 62.0, 2: 64.0}
    ratio = {'clean': (1, 1, 1), 'uniform_flat': (0.95, 1.0, 1.05), 'grating': (0.3, 0.35, 0.4),
             'unseg': (0.2, 0.22, 0.24), 'ar': (0.8, 0.85, 0.9), 'cuda': (0.2, 0.3, 0.4)}
    run = [c for c in cells if c.method in ratio]
    run += [c for c in cells if c.method == 'synper' and c.seed == 0]  # one seed only
    results = _fake_results(suite, run, lambda c: clean[c.seed] * ratio.get(c.method,
                                                                              (0.9,) * 3)[c.seed])
    targets = {(t['name'], tuple(t.get('tasks') or ())): t for t in suite.targets}

    def met(name, task='voc_deeplabv3', **change):
        target = next(t for (n, ts), t in targets.items()
                      if n == name and (not ts or task in ts))
        return target_row(suite, results, dict(target, **change), task)['met']

    assert met('clean training learns') == 'yes'
    assert met('clean training learns', at_least=70) == 'no'
    assert met('clean training is stable') == 'yes'  # sd 2.0
    assert met('negative control does nothing') == 'yes'
    assert met('positive control works') == 'no'  # mean 0.35, needs at most 0.3
    assert met('positive control works', at_most=0.4) == 'yes'
    assert met('generator protects') == 'yes'
    # below AR with intervals apart, but overlapping CUDA's interval; SynPer has one seed
    assert met('generator beats the baselines', than=['ar']) == 'yes'
    assert met('generator beats the baselines', than=['ar', 'cuda']) == 'open'
    assert met('generator beats the baselines', than=['synper']) == 'open'
    assert met('generator beats the baselines', than=['uniform_flat']) == 'yes'
    assert met('generator beats the baselines', than=['grating_16']) == 'not run'
    assert met('error-minimising signature') == 'no'  # every fake loss is 0.5
    assert met('survives JPEG-10') == 'not run'
    defended = [c for c in expand(suite, ['defences'])
                if c.method == 'clean' and c.defence in ('none', 'pgd_at')]
    results_defended = _fake_results(suite, defended, lambda c: clean[c.seed] * (
        0.25 if c.defence == 'pgd_at' else 1))
    row = target_row(suite, results_defended, next(
        t for t in suite.targets if t['method'] == 'clean' and t.get('defence') == 'pgd_at'),
        'voc_deeplabv3')
    assert row['met'] == 'no' and row['needed'].startswith('clean + pgd_at: defended / undefended')
    assert met('generator protects', task='coco_dino') == 'not run'
    table = targets_table(suite, results, 'cmd')
    assert table.count('\n| ') == 1 + sum(len(t.get('tasks') or suite.studies[t['study']].tasks)
                                          for t in suite.targets)


def test_stale_records_are_pruned_and_the_world_version_keys_the_cells():
    suite = load_suite('mini')
    cell = expand(suite, ['main'])[0]
    results = _fake_results(suite, [cell], lambda c: 1.0)
    results['cells']['older-schedule'] = dict(value=2.0)
    dropped = prune_results(suite, results)
    assert [r['value'] for r in dropped] == [2.0] and list(results['cells']) == [
        cell_key(suite, cell)]
    assert data_version(suite) is not None
    assert protection_settings(suite, Cell('main', cell.task, 'unseg', 'none'))['data'] == \
        data_version(suite)
    full = load_suite('full')
    assert data_version(full) is None
    # A suite in another world keys its cells apart from the default world's.
    cluttered = load_suite('mini_cluttered')
    assert data_version(cluttered) == data_version(suite) + '/cluttered'
    assert list(cluttered.tasks) == ['voc_deeplabv3'] and list(cluttered.studies) == ['objectness']
    # ... and trains the same configs on its own data: every dataset path is rebased to it
    clean = [c for c in expand(cluttered, ['objectness']) if c.method == 'clean'][0]
    root = osp.join(REPO_ROOT, cluttered.data_root)
    cfg = cell_config(cluttered, clean, root, None, '/tmp/unused')
    found = []

    def data_roots(node):
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == 'data_root')
            for v in node.values():
                data_roots(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                data_roots(v)

    data_roots(cfg.to_dict())
    assert len(found) >= 4 and all(r.startswith(root + '/') for r in found), found


def test_the_weights_a_config_starts_from_key_its_cells(tmp_path, monkeypatch):
    import suite as suite_module
    weights = tmp_path / 'backbone.pth'
    weights.write_bytes(b'first')
    config = tmp_path / 'task.py'
    config.write_text(f"_base_ = '{config_path('mini', 'deeplabv3_r18_mini-voc.py')}'\n"
                      f"model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                      f"checkpoint='{weights}')))\n")
    suite = load_suite('mini')
    suite.tasks.voc_deeplabv3.config = str(config)
    cell = Cell('main', 'voc_deeplabv3', 'clean', 'none', seed=0)
    first = cell_key(suite, cell)
    weights.write_bytes(b'second')
    suite_module._init_checkpoints.cache_clear()
    suite_module.file_sha256.cache_clear()
    assert cell_key(suite, cell) != first
    # The committed VOC config starts from the bundled mini backbone, which exists.
    assert list(suite_module._init_checkpoints('configs/mini/deeplabv3_r18_mini-voc.py')) == [
        'checkpoints/r18v1c-half_mini-natural-pretrain.pth']


def test_cells_are_keyed_on_the_resolved_config_not_its_files(tmp_path):
    import suite as suite_module
    voc = config_path('mini', 'deeplabv3_r18_mini-voc.py')
    helper = tmp_path / 'helper.py'
    helper.write_text("_rate = dict(lr=0.05)\n")
    # the VOC config's own learning rate, read from a helper base: the same resolved config
    wrapper = tmp_path / 'task.py'
    wrapper.write_text(f"_base_ = ['{voc}', '{helper}']\n"
                       "optim_wrapper = dict(optimizer=dict(lr=_base_._rate.lr))\n")
    suite = load_suite('mini')
    cell = Cell('main', 'voc_deeplabv3', 'clean', 'none', seed=0)
    key = cell_key(suite, cell)
    suite.tasks.voc_deeplabv3.config = str(wrapper)
    assert cell_key(suite, cell) == key
    # a changed base changes what trains, and so the key (file bytes of the task config alone
    # did not see it)
    helper.write_text("_rate = dict(lr=0.01)\n")
    suite_module._resolved_config.cache_clear()  # the parse is cached per run, as is the key
    suite_module.resolved_config_sha.cache_clear()
    assert cell_key(suite, cell) != key


def test_a_retrained_generator_at_the_same_path_makes_its_cells_and_copies_stale(tmp_path):
    import suite as suite_module
    generator = tmp_path / 'generator.pth'
    generator.write_bytes(b'first')
    suite = load_suite('mini')
    suite.methods.unseg.checkpoint = str(generator)
    cell = Cell('main', 'voc_deeplabv3', 'unseg', 'none', seed=0)
    key, settings = cell_key(suite, cell), protection_settings(suite, cell)
    generator.write_bytes(b'second')
    suite_module.file_sha256.cache_clear()
    assert cell_key(suite, cell) != key
    # the protected copy's folder is named by the digest of these settings
    assert protection_settings(suite, cell) != settings
    clean = Cell('main', 'voc_deeplabv3', 'clean', 'none', seed=0)
    assert protection_settings(suite, clean) is None
    # methods without weights keep the settings (and so the cell keys) they always had
    synper = protection_settings(suite, Cell('main', 'voc_deeplabv3', 'synper', 'none', seed=0))
    assert 'checkpoint_sha' not in synper and synper['checkpoint'] is None


def _record_many(path, prefix, count):
    for i in range(count):
        record_result(path, f'{prefix}{i}', dict(value=float(i)))


def test_processes_sharing_a_results_file_keep_each_others_records(tmp_path):
    import multiprocessing
    path = str(tmp_path / 'results' / 'results.json')
    workers = [multiprocessing.get_context('fork').Process(target=_record_many,
                                                           args=(path, p, 25))
               for p in ('a', 'b', 'c')]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with open(path) as f:
        cells = json.load(f)['cells']
    assert sorted(cells) == sorted(f'{p}{i}' for p in 'abc' for i in range(25))


def test_readme_block_is_replaced_with_tables_separated_by_blank_lines(tmp_path):
    readme = tmp_path / 'README.md'
    start = '<!-- benchmark tables: mini (written by benchmarks/run.py) -->'
    end = '<!-- end of benchmark tables: mini -->'
    readme.write_text(f'intro\n{start}\nstale table\n{end}\noutro\n')
    tables = dict(a='## A\n\n| x |\n\n1 of 1 cells run.\n', b='## B\n\n| y |\n')
    assert update_readme(str(readme), 'mini', tables)
    text = readme.read_text()
    assert 'stale table' not in text and text.startswith('intro\n') and text.endswith('outro\n')
    assert '1 of 1 cells run.\n\n### B\n' in text and '\n### A\n' in text
    other = tmp_path / 'OTHER.md'
    other.write_text('no block here\n')
    assert not update_readme(str(other), 'mini', tables)
    assert other.read_text() == 'no block here\n'


def test_generator_effect_runs_clean_and_each_method_per_budget(mini_root, tiny_generator_file,
                                                                tmp_path):
    import generator_effect
    out = tmp_path / 'out'
    generator_effect.main(['--generator', tiny_generator_file, '--data-root',
                           osp.join(mini_root, 'hqseg'), '--eps', '8/255', '32/255',
                           '--epochs', '1', '--work-dir', str(tmp_path / 'work'),
                           '--out', str(out)])
    with open(out / 'results.json') as f:
        runs = json.load(f)['runs']
    assert list(runs) == ['clean', 'unseg@8/255', 'grating@8/255', 'unseg@32/255',
                          'grating@32/255']
    assert runs['grating@32/255']['eps_background'] == '8/255'
    assert all(0 <= r['clean_val_miou'] <= 100 and r['losses'] for r in runs.values())
    table = (out / 'results.md').read_text()
    assert table.count('| unseg |') == 2 and '| clean | - |' in table


def test_breakdown_separates_objectness_from_class():
    """benchmarks/breakdown.py: a model that misses objects loses recall, one that confuses
    classes loses class accuracy; mIoU alone cannot tell them apart."""
    import numpy as np
    from breakdown import scores
    # classes: 0 background, 1 and 2 objects; rows ground truth, columns prediction
    perfect = np.diag([100, 50, 50])
    s = scores(perfect)
    assert s['mIoU'] == pytest.approx(100) and s['object_recall'] == pytest.approx(100)
    missed = np.array([[100, 0, 0], [40, 10, 0], [40, 0, 10]])  # objects predicted background
    s = scores(missed)
    assert s['object_recall'] == pytest.approx(20)
    assert s['class_acc_on_found'] == pytest.approx(100)
    confused = np.array([[100, 0, 0], [0, 10, 40], [0, 40, 10]])  # objects found, wrong class
    s = scores(confused)
    assert s['object_recall'] == pytest.approx(100)
    assert s['objectness_iou'] == pytest.approx(100)
    assert s['class_acc_on_found'] == pytest.approx(20)


def test_throughput_cell_measures_serial_and_pipelined_tool_and_bf16_difference(tmp_path):
    """One small throughput cell end to end (speed is measured by the benchmark, not here):
    both tool runs, their stage shares and the bf16-vs-float32 pixel difference are reported."""
    import throughput
    row = throughput.run_cell('tiny', 2, 'cpu', str(tmp_path), repeats=1, dtype='bfloat16',
                              tool_images=4, rounds=2, min_seconds=0, steady_factor=2)
    assert row['steady_images'] == 8 and row['tool_w2_steady_ms_per_image'] > 0
    low, high = row['tool_w2_steady_over_forward_range']
    assert 0 < low <= row['tool_w2_steady_over_forward'] <= high
    assert row['tool_images'] == 4 and row['dtype'] == 'bfloat16' and row['tool_rounds'] == 2
    for workers in (0, 2):
        assert row[f'tool_w{workers}_ms_per_image'] > 0
        low, high = row[f'tool_w{workers}_over_forward_range']
        assert 0 < low <= row[f'tool_w{workers}_over_forward'] <= high
        shares = row[f'stages_w{workers}']
        assert {'decode', 'generator', 'encode', 'hash', 'write'} <= set(shares)
        assert abs(sum(shares.values()) - 1) < 1e-6
    diff = row['bf16_vs_float32']
    assert 0 <= diff['max_abs'] <= 8 and 0 <= diff['share'] <= 1
    throughput_dir = tmp_path / 'table'
    throughput_dir.mkdir()
    (throughput_dir / 'results.json').write_text(json.dumps(dict(
        meta=dict(device='cpu', torch='x', threads=2, command='c'), rows=[row])))
    throughput.write_table(str(throughput_dir))
    table = (throughput_dir / 'results.md').read_text()
    assert '| tiny | bfloat16 | 256 | 160x128 | 2 |' in table and 'max ' in table
    assert 'medians over rounds (tiny: 2)' in table and f'{low:.2f}-{high:.2f})' in table


def test_separability_probes_read_pattern_amplitude_and_spectrum_apart():
    """benchmarks/separability.py: each probe reads the kind of mark it is for, and i.i.d. noise
    at one amplitude is at chance for all three."""
    import numpy as np
    from separability import describe, pixel_features, ridge_probe

    rng = np.random.default_rng(0)
    h, w = 48, 64
    label = np.zeros((h, w), np.int64)
    label[8:40, 16:48] = 1
    label[0, :] = -1  # ignored
    yy, xx = np.mgrid[:h, :w]

    def grating(period, phase):
        return np.repeat(np.sin(2 * np.pi * xx / period + phase)[..., None], 3, 2) * 8

    makers = {
        'iid': lambda: rng.uniform(-8, 8, (h, w, 3)),
        'amplitude map': lambda: rng.uniform(-1, 1, (h, w, 3)) * np.where(label == 1, 8, 2)[
            ..., None],
        'gratings': lambda: np.where(label[..., None] == 1, grating(3, rng.uniform(0, 6)),
                                     grating(7, rng.uniform(0, 6))),
        'cast': lambda: rng.uniform(-2, 2, (h, w, 3)) + np.where(label == 1, 4, -4)[..., None],
    }
    scores = {}
    for name, make in makers.items():
        parts = [pixel_features(make().astype(np.float32), label, 150, seed=i) for i in range(32)]
        x_tr, y_tr = (np.concatenate(v) for v in zip(*parts[:24]))
        x_te, y_te = (np.concatenate(v) for v in zip(*parts[24:]))
        assert set(y_tr.tolist()) == {0, 1}
        spec = [np.abs(np.fft.rfft2(x.reshape(len(x), 8, 8, 3), axes=(1, 2))).reshape(len(x), -1)
                for x in (x_tr, x_te)]
        scores[name] = (ridge_probe(x_tr, y_tr, x_te, y_te),
                        ridge_probe(np.abs(x_tr), y_tr, np.abs(x_te), y_te),
                        ridge_probe(spec[0], y_tr, spec[1], y_te))
    assert all(abs(s - 0.5) < 0.08 for s in scores['iid']), scores
    assert scores['amplitude map'][0] < 0.65 < 0.95 < scores['amplitude map'][1], scores
    assert scores['gratings'][0] < 0.65 and scores['gratings'][2] > 0.95, scores
    assert scores['cast'][0] > 0.95, scores
    # --scale: noise resampled bilinearly, labels by nearest neighbour (no new label values)
    from separability import resample
    seg = np.where(label == 1, 7, np.where(label < 0, 255, 0)).astype(np.uint8)
    small_delta, small_seg = resample(makers['gratings']().astype(np.float32), seg, 0.5)
    assert small_delta.shape == (24, 32, 3) and small_seg.shape == (24, 32)
    assert set(np.unique(small_seg).tolist()) <= {0, 7, 255}
    assert describe(dict(method='unseg', checkpoint='checkpoints/unseg_generator_tiny_mini-'
                         'hqseg-natural.pth', eps_object=8 / 255, eps_background=2 / 255)) == \
        'unseg natural @ 8/2'


def test_class_key_codes_are_shift_free_and_group_twins():
    """benchmarks/class_keys.py: a shifted pattern and its negative have one code (a target
    seeing random crops cannot tell them apart); a channel swap of a coloured pattern does not."""
    import torch
    from class_keys import correlations, distinct_codes

    pattern = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    codes = torch.stack([correlations(p) for p in (
        pattern, torch.roll(pattern, (3, 5), (1, 2)), -pattern, pattern[[1, 0, 2]] * 0.5)])
    similarity = codes @ codes.T
    assert torch.allclose(similarity[0, :3], torch.ones(3), atol=1e-5)
    assert similarity[0, 3] < 0.9
    assert distinct_codes(similarity) == 2


def test_a_run_prunes_against_the_suite_file_as_it_reads_when_the_run_ends(tmp_path,
                                                                            monkeypatch):
    import run as run_script
    base = osp.join(REPO_ROOT, 'benchmarks', 'suites', 'mini.py')
    study = ("dict(title='{}', tasks=['voc_deeplabv3'], methods=['clean'], defences=['none'], "
             "schedule=dict(voc_deeplabv3={}), seeds=[0])")
    suite_file = tmp_path / 'growing_suite.py'
    suite_file.write_text(f"_base_ = '{base}'\n"
                          f"studies = dict(_delete_=True, a={study.format('a', 2)})\n")
    results_path = str(tmp_path / 'results' / 'results.json')
    added = {}

    def run_suite_while_the_file_grows(suite, cells, data_root, work, path):
        # Another process records a cell of a study added to the file while this run goes on.
        suite_file.write_text(f"_base_ = '{base}'\n"
                              f"studies = dict(_delete_=True, a={study.format('a', 2)}, "
                              f"b={study.format('b', 3)})\n")
        grown = load_suite(str(suite_file))
        cell = expand(grown, ['b'])[0]
        added['key'] = cell_key(grown, cell)
        record_result(path, added['key'], dict(value=1.0, train_loss=0.5, hardware='cpu'))
        record_result(path, 'older-schedule', dict(value=2.0, train_loss=0.5, hardware='cpu'))

    monkeypatch.setattr(run_script, 'run_suite', run_suite_while_the_file_grows)
    monkeypatch.setattr(run_script, '_ensure_mini_data', lambda *a: None)
    assert run_script.main(['--suite', str(suite_file), '--study', 'a', '--results-dir',
                            str(tmp_path / 'results'), '--work-dir', str(tmp_path / 'w')]) == 0
    with open(results_path) as f:
        assert list(json.load(f)['cells']) == [added['key']]  # kept; the stale one dropped


def test_rekey_carries_a_cell_over_only_where_the_published_images_are_the_same(
        mini_root, tiny_generator_file, tmp_path):
    """A generator file re-written with a publishing window its task's images never exceed
    publishes the same images: its cells take the old records (marked so); a window that cuts
    them publishes others, and nothing is carried."""
    import rekey
    from PIL import Image
    from unseg_mm.apis.checkpoint import rewrite_generator
    sizes = {Image.open(osp.join(mini_root, 'VOCdevkit/VOC2012/JPEGImages', name)).size
             for name in os.listdir(osp.join(mini_root, 'VOCdevkit/VOC2012/JPEGImages'))}
    assert len(sizes) == 1
    side = max(sizes.pop())
    files = {}
    for name, window in (('old', None), ('same', side), ('cut', side // 2)):
        files[name] = str(tmp_path / f'{name}.pth')
        rewrite_generator(tiny_generator_file, files[name], pattern_window=window)

    def suite_with(name):
        path = tmp_path / f'suite_{name}.py'
        path.write_text(
            f"_base_ = '{osp.join(REPO_ROOT, 'benchmarks', 'suites', 'mini.py')}'\n"
            f"methods = dict(unseg=dict(checkpoint='{files[name]}'))\n"
            "studies = dict(_delete_=True, t=dict(title='one cell', tasks=['voc_deeplabv3'], "
            "methods=['unseg'], defences=['none'], schedule=dict(voc_deeplabv3=2), "
            "seeds=[0]))\n")
        return str(path)

    cell = Cell('t', 'voc_deeplabv3', 'unseg', 'none', schedule=2, seed=0)
    old_suite = load_suite(suite_with('old'))
    results_dir = tmp_path / 'results'
    old_key = cell_key(old_suite, cell)
    record_result(str(results_dir / 'results.json'), old_key, dict(
        key=old_key, study='t', task='voc_deeplabv3', method='unseg', defence='none', seed=0,
        schedule=2, metric='mIoU', value=12.5, protection=protection_settings(old_suite, cell)))
    args = ['--data-root', mini_root, '--results-dir', str(results_dir),
            '--work-dir', str(tmp_path / 'work')]
    assert rekey.main(['--suite', suite_with('cut')] + args) == 0
    cut_key = cell_key(load_suite(suite_with('cut')), cell)
    with open(results_dir / 'results.json') as f:
        assert cut_key not in json.load(f)['cells']
    assert rekey.main(['--suite', suite_with('same')] + args) == 0
    new_key = cell_key(load_suite(suite_with('same')), cell)
    assert new_key not in (old_key, cut_key)
    with open(results_dir / 'results.json') as f:
        cells = json.load(f)['cells']
    assert cells[new_key]['value'] == 12.5 and cells[new_key]['rekeyed_from'] == old_key
    assert cells[new_key]['protection']['checkpoint'] == files['same']
    assert cells[old_key]['value'] == 12.5  # the old record stays (run.py prunes it)


def test_jpeg_survival_keeps_coarse_grey_noise_and_removes_fine_and_colour_noise():
    """benchmarks/jpeg_survival.py: JPEG-10 keeps a grey square wave of 8 px squares, removes one
    of 2 px squares, leaves i.i.d. noise nothing of itself (only uncorrelated requantisation) and
    removes the colour of a coarse colour wave (its small luma part stays)."""
    import numpy as np
    from jpeg_survival import survival

    rng = np.random.default_rng(0)
    h, w = 128, 160
    yy, xx = np.mgrid[:h, :w]
    base = (100 + 40 * np.sin(xx / 23.0)[..., None] + 30 * np.cos(yy / 17.0)[..., None]
            + rng.normal(0, 6, (h, w, 3))).clip(20, 235).astype(np.uint8)

    def squares(side):
        return np.where((xx // side + yy // side) % 2 == 0, 8, -8)

    def kept(noise):
        protected = (base.astype(np.int64) + noise).clip(0, 255).astype(np.uint8)
        return survival(base, protected, quality=10)

    coarse = kept(np.repeat(squares(8)[..., None], 3, 2))
    fine = kept(np.repeat(squares(2)[..., None], 3, 2))
    iid = kept(rng.choice([-8, 8], (h, w, 3)))
    colour = kept(np.stack([squares(8), -squares(8) // 2, 0 * squares(8)], -1))
    assert coarse['kept'] > 0.9 and coarse['luma_share'] > 0.99, coarse
    assert abs(fine['kept']) < 0.05 and fine['rms_after'] < 1, fine
    assert abs(iid['kept']) < 0.1 and iid['rms_after'] > 2, iid
    assert colour['kept'] < 0.1 < 0.9 < colour['kept_luma'] and colour['luma_share'] < 0.2, colour
    with pytest.raises(ValueError, match='no noise'):
        survival(base, base.copy())


def test_screen_agreement_ranks_the_screen_against_the_full_schedule_and_names_reversals():
    from screen_agreement import agreement, spearman
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 2, 4], [1, 3, 3, 4]) == pytest.approx(1.0)  # ties share a rank
    suite = load_suite('mini')
    full_ratio = dict(grating_flat=0.3, unseg=0.5, ar_flat=0.7, uniform_flat=0.9)
    screen_ratio = dict(grating_flat=0.4, unseg=0.8, ar_flat=0.6, uniform_flat=0.95)
    cells, value = [], {}
    for method in ['clean', *full_ratio]:
        for schedule, seeds, ratio in ((300, [0, 1], screen_ratio), (1200, [0, 1, 2], full_ratio)):
            for seed in seeds:
                cell = Cell('screen', 'voc_deeplabv3', method, 'none', {}, schedule, seed)
                cells.append(cell)
                value[cell_key(suite, cell)] = 60.0 * (
                    1.0 if method == 'clean' else ratio[method] + 0.02 * seed)
    results = _fake_results(suite, cells, lambda c: value[cell_key(suite, c)])
    text = agreement(suite, results, 'screen')
    assert '| unseg | 0.81 ± 0.01 (n=2) | 0.52 ± 0.02 (n=3) |' in text
    assert 'Methods with both: 4; Spearman rho of the means: 0.80.' in text
    # every pair is separated at 1200; the screen swaps unseg and ar_flat
    assert 'separated at 1200 iterations (non-overlapping mean ± sd): 6; ordered alike at 300: ' \
           '5 (83%); reversed: unseg < ar_flat.' in text
    assert '| cuda |' not in text  # only the study's methods


def test_pattern_stats_measure_the_published_change_per_region_against_the_budget(tmp_path):
    import numpy as np
    from PIL import Image
    from pattern_stats import budget_use
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    for root in (src, dst):
        (root / 'JPEGImages').mkdir(parents=True)
    (src / 'SegmentationClass').mkdir()
    (src / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    (src / 'ImageSets' / 'Segmentation' / 'train.txt').write_text('a\nb\n')
    rng = np.random.default_rng(0)
    for name in 'ab':
        image = rng.integers(20, 230, (8, 10, 3), dtype=np.uint8)
        label = np.zeros((8, 10), np.uint8)
        label[2:6, 2:6] = 3  # an object
        label[0, :] = 255  # ignored: a change there must not count
        delta = np.zeros((8, 10, 3), np.int16)
        delta[label == 3] = 8  # the whole object budget
        delta[(label == 0) & (np.arange(10)[None, :] % 2 == 0)] = -2  # half the background
        delta[label == 255] = 9
        Image.fromarray(image).save(src / 'JPEGImages' / f'{name}.jpg', format='PNG')
        Image.fromarray(label).save(src / 'SegmentationClass' / f'{name}.png')
        Image.fromarray((image + delta).astype(np.uint8)).save(dst / 'JPEGImages' / f'{name}.jpg',
                                                                format='PNG')
    stats = budget_use(str(src), str(dst), 8 / 255, 2 / 255)
    assert stats['objects_amplitude'] == pytest.approx(1.0)
    assert stats['objects_at_budget'] == pytest.approx(1.0)
    assert stats['background_amplitude'] == pytest.approx(0.5)
    assert stats['background_at_budget'] == pytest.approx(0.5)
    # measured against an 8/255 budget, the background's 2 grey levels are a quarter of it
    assert budget_use(str(src), str(dst), 8 / 255, 8 / 255)['background_amplitude'] == \
        pytest.approx(0.125)
    (src / 'ImageSets' / 'Segmentation' / 'train.txt').unlink()
    with pytest.raises(FileNotFoundError, match='train.txt: not a VOC-layout'):
        budget_use(str(src), str(dst), 8 / 255, 2 / 255)
