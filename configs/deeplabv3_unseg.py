# DeepLabV3 (stock mmseg config: Pascal VOC 2012 + SBD aug) trained on UnSeg-protected images:
# the stock config plus the protection transform right after LoadAnnotations in the training
# pipelines; validation stays clean.
#
# Protect the training set once (on GPUs), then train:
#   python tools/protect_dataset.py --format voc --src data/VOCdevkit/VOC2012 \
#       --dst data/VOCdevkit/VOC2012_unseg --checkpoint checkpoints/unseg_generator_vitb_hqseg44k.pth
#   python tools/train.py configs/deeplabv3_unseg.py
# The transform reads the protected copy (cache). To compute it on the fly instead, give
# `checkpoint=...` and `device='cuda'` and set env_cfg.mp_cfg.mp_start_method='spawn'.
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'
from unseg_mm.apis.config_utils import with_protection  # noqa: E402

custom_imports = dict(imports=['unseg_mm'], allow_failed_imports=False)
unseg_protect = dict(
    type='UnSegProtect',
    cache=dict(src_root='data/VOCdevkit/VOC2012', protected_root='data/VOCdevkit/VOC2012_unseg'),
    format='voc')
train_dataloader = dict(dataset=with_protection(_base_.train_dataloader.dataset, unseg_protect))
