# DINO 4-scale R50 (stock mmdet config, COCO detection) trained on UnSeg-protected images: the
# stock config plus the protection transform right after LoadAnnotations; validation stays clean.
# DINO's pipeline loads boxes only; protection prompts with the instance masks of the COCO
# annotations (raw polygons) when it computes online, or reads the protected copy:
#   python tools/protect_dataset.py --format coco --src data/coco --dst data/coco_unseg \
#       --checkpoint checkpoints/unseg_generator_vitb_hqseg44k.pth
#   python tools/train.py configs/dino_unseg.py
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
from unseg_mm.apis.config_utils import with_protection  # noqa: E402

custom_imports = dict(imports=['unseg_mm'], allow_failed_imports=False)
unseg_protect = dict(
    type='UnSegProtect', cache=dict(src_root='data/coco', protected_root='data/coco_unseg'))
train_dataloader = dict(dataset=with_protection(_base_.train_dataloader.dataset, unseg_protect))
