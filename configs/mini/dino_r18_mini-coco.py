# DINO (mmdet, 4-scale) on the mini COCO set, sized for a 2-core CPU.
# Only overrides of the stock config: the mini-pretrained half-width ResNet-18-V1c of the other
# mini configs (_base_/mask2former_r18_mini.py; the counterpart of the stock ImageNet checkpoint),
# fewer encoder/decoder layers and queries, narrower feed-forward layers, mini multi-scale
# resizing, a short schedule. The embedding
# width stays at the stock 256: mmdet 3.3's DinoTransformerDecoder encodes reference points with
# coordinate_to_encoding's default of 128 features per axis, whatever embed_dims is.
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', './_base_/mask2former_r18_mini.py',
    './_base_/mini_runtime.py'
]
_mini, _net = _base_._mini, _base_._mask2former
custom_imports = dict(imports=['unseg_mm'], allow_failed_imports=False)

data_root = 'data/mini/coco/'
embed_dims = 256
model = dict(
    num_queries=100,
    backbone=dict(
        _net.backbone,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False),
    neck=dict(in_channels=_net.head.in_channels[1:], out_channels=embed_dims),
    encoder=dict(
        num_layers=2,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=512))),
    decoder=dict(
        num_layers=3,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims),
            cross_attn_cfg=dict(embed_dims=embed_dims),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=512))),
    positional_encoding=dict(num_feats=embed_dims // 2),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=20)),
    test_cfg=dict(max_per_img=50))

scales = [(96, 400), (112, 400), (128, 400), (144, 400), (160, 400)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[dict(type='RandomChoiceResize', scales=scales, keep_ratio=True)],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(100, 600), (120, 600), (140, 600)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(96, 140),
                            allow_negative_crop=True),
                        dict(type='RandomChoiceResize', scales=scales, keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(400, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4, **_mini.loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(**_mini.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# the backbone at the full rate (see _base_/mini_runtime.py)
optim_wrapper = _mini.transformer_optim_wrapper

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[10], gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
    visualization=_mini.visualization)
env_cfg, randomness = _mini.env_cfg, _mini.randomness
