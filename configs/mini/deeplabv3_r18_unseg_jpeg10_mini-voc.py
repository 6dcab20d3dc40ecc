# Defence: the trainer re-compresses every (UnSeg-protected) training image as JPEG quality 10
# (ISS-J) before the stock augmentations. Other defences: GrayscaleDefence, BitDepthReduction,
# MedianFilter, GaussianFilter (unseg_mm/datasets/defences.py).
_base_ = './deeplabv3_r18_unseg_mini-voc.py'
from unseg_mm.apis.config_utils import with_defence  # noqa: E402

train_dataloader = dict(dataset=with_defence(_base_.train_dataloader.dataset,
                                             dict(type='JPEGCompression', quality=10)))
