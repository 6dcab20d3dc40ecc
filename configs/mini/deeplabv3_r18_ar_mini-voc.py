# deeplabv3_r18_mini-voc.py trained on images protected by a class-wise baseline instead of
# UnSeg: the same UnSegProtect transform, where one key (`method`) swaps the protection
# (unseg, synper, ar, cuda) and `method_options` holds the method's own hyper-parameters.
_base_ = './deeplabv3_r18_mini-voc.py'
from unseg_mm.apis.config_utils import with_protection  # noqa: E402

protection = dict(type='UnSegProtect', method='ar', method_options=dict(eps2=1.0),
                  format='voc')
train_dataloader = dict(dataset=with_protection(_base_.train_dataloader.dataset, protection))
