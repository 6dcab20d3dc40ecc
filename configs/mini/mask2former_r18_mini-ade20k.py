# Mask2Former (mmseg, semantic) on the mini ADE20K set, sized for a 2-core CPU.
# Only overrides of the stock config: the mini Mask2Former of _base_/mask2former_r18_mini.py
# (half-width ResNet-18-V1c, mini-pretrained; 64-d pixel decoder / transformer, fewer layers and
# queries), 128 px crops, a short schedule.
_base_ = [
    'mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py',
    './_base_/mask2former_r18_mini.py', './_base_/mini_runtime.py'
]
_mini, _net = _base_._mini, _base_._mask2former
custom_imports = dict(imports=['mmdet.models', 'unseg_mm'], allow_failed_imports=False)

data_root = 'data/mini/ADEChallengeData2016'
crop_size = (128, 128)
embed_dims = _net.embed_dims
norm_cfg = dict(type='BN', requires_grad=True)
# The mini counterpart of the stock ImageNet checkpoint (tools/pretrain_mini_backbone.py,
# checkpoints/README.md): from scratch, label-free noise at the budget alone cost this task
# as much as a class-wise shortcut, so the task could not tell the two apart.
pretrained_backbone = _net.pretrained_backbone
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(_net.backbone, norm_cfg=norm_cfg),
    decode_head=dict(_net.head, train_cfg=dict(num_points=1024)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomChoiceResize',
        scales=[int(128 * x * 0.1) for x in range(5, 21)],
        resize_type='ResizeShortestEdge',
        max_size=1024),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(640, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, **_mini.loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(**_mini.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = _mini.transformer_optim_wrapper
max_iters = _net.max_iters
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, save_best=None),
    visualization=_mini.visualization)
env_cfg, randomness = _mini.env_cfg, _mini.randomness
