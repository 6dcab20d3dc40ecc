# Mask2Former R50 (stock mmdet config, COCO panoptic) trained on UnSeg-protected images: the
# stock config plus the protection transform right after LoadPanopticAnnotations; validation
# stays clean.
#
# Protect the training set once (on GPUs), then train:
#   python tools/protect_dataset.py --format coco_panoptic --src data/coco --dst data/coco_unseg \
#       --checkpoint checkpoints/unseg_generator_vitb_hqseg44k.pth
#   python tools/train.py configs/mask2former_unseg.py
# The transform reads the protected copy (cache). To compute it on the fly instead, give
# `checkpoint=...` and `device='cuda'` and set env_cfg.mp_cfg.mp_start_method='spawn'.
_base_ = 'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py'
from unseg_mm.apis.config_utils import with_protection  # noqa: E402

custom_imports = dict(imports=['unseg_mm'], allow_failed_imports=False)
unseg_protect = dict(
    type='UnSegProtect', cache=dict(src_root='data/coco', protected_root='data/coco_unseg'))
train_dataloader = dict(dataset=with_protection(_base_.train_dataloader.dataset, unseg_protect))
