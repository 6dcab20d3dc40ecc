# Mask2Former (mmdet, panoptic) on the mini COCO set, sized for a 2-core CPU.
# Only overrides of the stock config: the mini Mask2Former of _base_/mask2former_r18_mini.py
# (half-width ResNet-18-V1c, mini-pretrained; 64-d pixel decoder / transformer, fewer layers and
# queries), 128 px large-scale jitter, a short schedule.
_base_ = [
    'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py',
    './_base_/mask2former_r18_mini.py', './_base_/mini_runtime.py'
]
_mini, _net = _base_._mini, _base_._mask2former
custom_imports = dict(imports=['unseg_mm'], allow_failed_imports=False)

data_root = 'data/mini/coco/'
image_size = (128, 128)
embed_dims = _net.embed_dims
# The mini counterpart of the stock ImageNet checkpoint (tools/pretrain_mini_backbone.py,
# checkpoints/README.md): from scratch, label-free noise at the budget alone cost this task
# as much as a class-wise shortcut (0.35 vs 0.29 of clean), so it could not tell them apart.
pretrained_backbone = _net.pretrained_backbone
batch_augments = [
    dict(
        type='BatchFixedSizePad',
        size=image_size,
        img_pad_value=0,
        pad_mask=True,
        mask_pad_value=0,
        pad_seg=True,
        seg_pad_value=255)
]
model = dict(
    data_preprocessor=dict(batch_augments=batch_augments),
    backbone=dict(_net.backbone, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False),
    panoptic_head=_net.head,
    train_cfg=dict(num_points=1024),
    test_cfg=dict(max_per_image=20))

train_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_size=image_size,
        crop_type='absolute',
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(213, 128), keep_ratio=True),
    dict(type='LoadPanopticAnnotations'),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    **_mini.loader,
    dataset=dict(data_root=data_root, filter_cfg=dict(min_size=16), pipeline=train_pipeline))
val_dataloader = dict(**_mini.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoPanopticMetric',
        ann_file=data_root + 'annotations/panoptic_val2017.json',
        seg_prefix=data_root + 'annotations/panoptic_val2017/',
        nproc=2),
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/instances_val2017.json',
        metric=['bbox', 'segm'])
]
test_evaluator = val_evaluator

optim_wrapper = _mini.transformer_optim_wrapper
max_iters = _net.max_iters
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=[500], gamma=0.1)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters, dynamic_intervals=None)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
    visualization=_mini.visualization)
log_processor = dict(window_size=20)
env_cfg, randomness = _mini.env_cfg, _mini.randomness
