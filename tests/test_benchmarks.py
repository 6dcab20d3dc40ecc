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
from report import study_table, update_readme  # noqa: E402
from suite import (Cell, cell_config, cell_key, expand, final_train_loss, load_suite,  # noqa: E402
                   run_suite, save_results)


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
    assert len(main) == len(suite.tasks) * 5
    assert {c.method for c in main} == {'clean', 'unseg', 'synper', 'ar', 'cuda'}
    ci = expand(suite, ['ci'])
    assert {(c.task, c.method) for c in ci} == {
        (t, m) for t in ('voc_deeplabv3', 'ade20k_mask2former', 'coco_dino')
        for m in ('clean', 'unseg')}
    assert all(c.schedule < suite.tasks[c.task].schedule for c in ci)
    assert 'ci' not in {c.study for c in expand(suite)}
    # The same settings in two studies are one cell (one run, one key).
    eps8 = [c for c in expand(suite, ['eps'])
            if c.method == 'unseg' and c.setting['eps_object'] == 8 / 255][0]
    mix0 = [c for c in expand(suite, ['mix'])
            if c.method == 'unseg' and c.setting['mix_clean_ratio'] == 0][0]
    assert cell_key(suite, eps8) == cell_key(suite, mix0)
    cleans = {cell_key(suite, c) for c in expand(suite, ['mix', 'eps', 'prompt'])
              if c.method == 'clean'}
    assert len(cleans) == 1  # one clean reference run serves every setting
    with pytest.raises(ValueError, match='unknown study'):
        expand(suite, ['nope'])


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
        "methods=['clean', 'synper'], defences=['none'], schedule=dict(voc_deeplabv3=2)))\n")
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
    assert f'{clean:.2f}' in table and '2 of 2 cells run' in table
    # The records are lost but the trained runs are not (killed before saving): re-running
    # evaluates the final checkpoints instead of failing or retraining.
    os.remove(results_path)
    logs.clear()
    again = run_suite(suite, cells, mini_root, str(tmp_path / 'work'), results_path,
                      log=logs.append)
    assert sum('running' in line for line in logs) == 2
    assert {k: v['value'] for k, v in again['cells'].items()} == \
        {k: v['value'] for k, v in results['cells'].items()}


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
    # the clean run (one per setting, all the same cell) is the reference column
    assert len(rows) == sum(c.method != 'clean' for c in cells) == 12
    for method in ('unseg', 'synper', 'grating', 'grating_objects'):
        assert sum(f'| {method} |' in row for row in rows) == 3
    assert any('| grating | 32/255 |' in row for row in rows)


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
