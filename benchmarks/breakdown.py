"""Where does a protection hurt? Splits a trained cell's clean-val error into objectness and class.

A class-agnostic protection (UnSeg's union-of-objects prompts, ``grating_objects``) can only
teach a target model "this texture is an object"; it can hurt the clean score by making the
model miss objects on clean images (objectness), not by confusing one class with another. A
class-wise shortcut (``grating``) can do both. For each finished VOC-format cell of a suite this
re-runs the cell's own checkpoint on the clean val split and reports:

- mIoU (recomputed; equals the suite's value up to the evaluator's rounding),
- objectness IoU: IoU of "any object class" between prediction and ground truth,
- object recall: share of ground-truth object pixels predicted as some object,
- class accuracy on found objects: among ground-truth object pixels predicted as an object,
  the share given the right class.

A protection that works through objectness drives recall down and leaves class accuracy high;
the background-only floor (every pixel background) is recall 0.

  python benchmarks/breakdown.py --suite mini --task voc_deeplabv3

Writes benchmarks/results/<suite>/breakdown.{json,md}. Cells whose checkpoint is gone are
listed as such (re-run them with ``benchmarks/run.py``).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
from collections import defaultdict

import numpy as np
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def confusion(model, val_items, num_classes: int, ignore: int = 255) -> np.ndarray:
    from mmseg.apis import inference_model
    conf = np.zeros((num_classes, num_classes), np.int64)
    for img_path, seg_path in val_items:
        gt = np.array(Image.open(seg_path))
        result = inference_model(model, img_path)
        pred = result.pred_sem_seg.data[0].cpu().numpy()
        keep = gt != ignore
        conf += np.bincount(num_classes * gt[keep].astype(np.int64) + pred[keep],
                            minlength=num_classes ** 2).reshape(num_classes, num_classes)
    return conf


def scores(conf: np.ndarray, background: int = 0) -> dict:
    inter = np.diag(conf).astype(float)
    union = conf.sum(0) + conf.sum(1) - np.diag(conf)
    present = union > 0
    miou = float(np.mean(inter[present] / union[present])) * 100
    obj = np.ones(len(conf), bool)
    obj[background] = False
    gt_obj_pred_obj = conf[np.ix_(obj, obj)].sum()
    gt_obj = conf[obj].sum()
    pred_obj = conf[:, obj].sum()
    objectness_iou = gt_obj_pred_obj / max(gt_obj + pred_obj - gt_obj_pred_obj, 1) * 100
    recall = gt_obj_pred_obj / max(gt_obj, 1) * 100
    class_acc = np.trace(conf[np.ix_(obj, obj)]) / max(gt_obj_pred_obj, 1) * 100
    return dict(mIoU=miou, objectness_iou=float(objectness_iou), object_recall=float(recall),
                class_acc_on_found=float(class_acc))


def val_items(cfg) -> list:
    ds = cfg.val_dataloader.dataset
    root = ds.data_root
    names = open(osp.join(root, ds.ann_file)).read().split()
    img_dir = osp.join(root, ds.data_prefix['img_path'])
    seg_dir = osp.join(root, ds.data_prefix['seg_map_path'])
    return [(osp.join(img_dir, n + '.jpg'), osp.join(seg_dir, n + '.png')) for n in names]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--suite', default='mini')
    parser.add_argument('--task', default='voc_deeplabv3')
    parser.add_argument('--methods', nargs='*', default=None,
                        help='methods to break down (default: every method with a finished cell)')
    args = parser.parse_args(argv)

    from mmengine.config import Config
    from mmseg.apis import init_model

    from unseg_mm.compat import allow_mmengine_checkpoints_with_weights_only
    allow_mmengine_checkpoints_with_weights_only()
    out_dir = osp.join(ROOT, 'benchmarks', 'results', args.suite)
    cells = json.load(open(osp.join(out_dir, 'results.json')))['cells']
    rows = defaultdict(list)
    missing = []
    for key, rec in sorted(cells.items()):
        if rec['task'] != args.task or rec.get('defence', 'none') != 'none':
            continue
        if args.methods and rec['method'] not in args.methods:
            continue
        cell_dir = osp.join(ROOT, 'work_dirs', 'benchmarks', args.suite, 'cells', key)
        ckpt = osp.join(cell_dir, f"iter_{rec['schedule']}.pth")
        if not osp.exists(ckpt):
            missing.append(f"{rec['method']} seed {rec['seed']} ({key})")
            continue
        cfg = Config.fromfile(osp.join(cell_dir, 'cell_config.py'))
        model = init_model(cfg, ckpt, device='cpu')
        conf = confusion(model, val_items(cfg), cfg.model.decode_head.num_classes)
        s = scores(conf)
        s.update(seed=rec['seed'], key=key, suite_value=rec['value'])
        rows[(rec['method'], rec['study'])].append(s)
        print(f"{rec['method']:<48} s{rec['seed']} " + ' '.join(
            f"{k} {s[k]:.2f}" for k in ('mIoU', 'objectness_iou', 'object_recall',
                                       'class_acc_on_found')), flush=True)

    def fmt(vals):
        if len(vals) == 1:
            return f'{vals[0]:.1f}'
        return f'{statistics.mean(vals):.1f} ± {statistics.stdev(vals):.1f}'

    cols = ('mIoU', 'objectness_iou', 'object_recall', 'class_acc_on_found')
    lines = [f'### Error breakdown on clean val: {args.task} ({args.suite})', '',
             f'Command: `python benchmarks/breakdown.py --suite {args.suite} --task {args.task}`',
             '', 'Each finished cell\'s own checkpoint re-run on the clean val split; mean ± sd '
             'over the seeds found (n). Objectness IoU / object recall: "some object class" vs '
             'background; class accuracy: right class among ground-truth object pixels that '
             'were predicted as an object.', '',
             '| method | n | mIoU | objectness IoU | object recall | class acc. on found |',
             '|---|---|---|---|---|---|']
    order = sorted(rows, key=lambda k: -statistics.mean(r['mIoU'] for r in rows[k]))
    for method, _study in order:
        rs = rows[(method, _study)]
        lines.append(f'| {method} | {len(rs)} | ' + ' | '.join(
            fmt([r[c] for r in rs]) for c in cols) + ' |')
    if missing:
        lines += ['', 'Checkpoints gone (not broken down): ' + ', '.join(missing) + '.']
    with open(osp.join(out_dir, 'breakdown.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(out_dir, 'breakdown.json'), 'w') as f:
        json.dump({f'{m}|{st}': v for (m, st), v in rows.items()}, f, indent=1, sort_keys=True)
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
