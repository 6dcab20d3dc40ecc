"""Upstream work-arounds in unseg_mm.compat."""
import io
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from unseg_mm import panoptic_eval


def test_mmengine_message_hub_state_loads_with_weights_only(tmp_path):
    hub = MessageHub('compat-test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('iter', np.int64(3))
    path = tmp_path / 'ckpt.pth'
    torch.save({'message_hub': hub.state_dict(), 'meta': {'epoch': np.int64(1)}}, path)
    state = torch.load(path, weights_only=True)
    restored = MessageHub('compat-test-restored')
    restored.load_state_dict(state['message_hub'])
    assert restored.get_scalar('train/loss').mean() == pytest.approx(0.375)


class _Sneaky:
    """Pickles as getattr(HistoryBuffer, '__init__'), which the allow-list must refuse."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_weights_only_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'bad.pth'
    torch.save({'x': _Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        torch.load(path, weights_only=True)


def test_panoptic_rgb_id_round_trip():
    ids = np.array([[0, 1, 256], [65536, 26000 * 3 + 7, 16777215]], dtype=np.int64)
    assert np.array_equal(panoptic_eval.rgb2id(panoptic_eval.id2rgb(ids)), ids)
    assert panoptic_eval.rgb2id([1, 2, 3]) == 1 + 2 * 256 + 3 * 65536


def test_pq_average_matches_the_definition():
    stat = panoptic_eval.PQStat()
    stat[1].tp, stat[1].iou, stat[1].fp = 2, 1.6, 1      # thing: PQ = 1.6 / (2 + 0.5) = 0.64
    stat[2].tp, stat[2].iou, stat[2].fn = 1, 0.9, 1      # stuff: PQ = 0.9 / 1.5 = 0.6
    categories = {1: {'isthing': 1}, 2: {'isthing': 0}, 3: {'isthing': 1}}  # 3 never occurs
    everything, per_class = stat.pq_average(categories, isthing=None)
    assert everything['n'] == 2
    assert everything['pq'] == pytest.approx((0.64 + 0.6) / 2)
    assert everything['sq'] == pytest.approx((0.8 + 0.9) / 2)
    assert per_class[3] == {'pq': 0.0, 'sq': 0.0, 'rq': 0.0}
    things, _ = stat.pq_average(categories, isthing=True)
    assert things['pq'] == pytest.approx(0.64) and things['rq'] == pytest.approx(2 / 2.5)
    merged = panoptic_eval.PQStat()
    merged += stat
    merged += stat
    assert merged[1].tp == 4 and merged[1].iou == pytest.approx(3.2)


def test_mmdet_sees_the_panopticapi_stand_in():
    from mmdet.datasets.transforms import LoadPanopticAnnotations
    from mmdet.evaluation.functional import panoptic_utils
    from mmdet.evaluation.metrics import coco_panoptic_metric
    assert LoadPanopticAnnotations().rgb2id is panoptic_eval.rgb2id
    assert panoptic_utils.PQStat is panoptic_eval.PQStat
    assert coco_panoptic_metric.id2rgb is panoptic_eval.id2rgb
