# Mask2Former (mmdet, panoptic) on the mini COCO set, sized for a 2-core CPU.
# Only overrides of the stock config: a half-width ResNet-18 with the deep (V1c) stem, from the
# mini-pretrained backbone the DeepLabV3 configs use, 64-d pixel decoder / transformer,
# fewer layers and queries, 128 px large-scale jitter, a short schedule.
_base_ = 'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py'
custom_imports = dict(imports=['unseg_mm'], allow_failed_imports=False)

data_root = 'data/mini/coco/'
image_size = (128, 128)
embed_dims = 64
# The mini counterpart of the stock ImageNet checkpoint (tools/pretrain_mini_backbone.py,
# checkpoints/README.md): from scratch, label-free noise at the budget alone cost this task
# as much as a class-wise shortcut (0.35 vs 0.29 of clean), so it could not tell them apart.
pretrained_backbone = 'checkpoints/r18v1c-half_mini-natural-pretrain.pth'
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
    backbone=dict(
        depth=18, deep_stem=True, stem_channels=32, base_channels=32,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_backbone)),
    panoptic_head=dict(
        in_channels=[32, 64, 128, 256],
        feat_channels=embed_dims,
        out_channels=embed_dims,
        num_queries=20,
        pixel_decoder=dict(
            encoder=dict(
                num_layers=2,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=embed_dims, num_heads=4),
                    ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=4 * embed_dims))),
            positional_encoding=dict(num_feats=embed_dims // 2)),
        positional_encoding=dict(num_feats=embed_dims // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=embed_dims, num_heads=4),
                cross_attn_cfg=dict(embed_dims=embed_dims, num_heads=4),
                ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=4 * embed_dims)))),
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
    num_workers=2,
    persistent_workers=False,
    dataset=dict(data_root=data_root, filter_cfg=dict(min_size=16), pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
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

# The stock optimiser slows the backbone to 0.1x for ImageNet weights, and its learning rate is
# set for 16-image batches over 50+ epochs; the mini backbone's pretraining is far shorter, so the
# backbone trains at the full rate (3e-4; measured from scratch on the first, cartoon mini ADE20K
# set: 600 iterations reach 48 mIoU instead of 23).
optim_wrapper = dict(
    optimizer=dict(lr=3e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0, decay_mult=1.0)}))

max_iters = 600
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=[500], gamma=0.1)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters, dynamic_intervals=None)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
    visualization=dict(draw=False))
log_processor = dict(window_size=20)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
