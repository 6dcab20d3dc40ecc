# DeepLabV3 on the mini Pascal VOC set (tools/make_mini_datasets.py), sized for a 2-core CPU.
# Only overrides of the stock mmseg config: a half-width ResNet-18-V1c backbone (mini-pretrained),
# narrow heads, 128 px crops, a short schedule. Model, pipeline and metric types are the stock ones.
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'

data_root = 'data/mini/VOCdevkit/VOC2012'
crop_size = (128, 128)
scale = (640, 128)  # (long, short) edge bound, the mini counterpart of the stock (2048, 512)
norm_cfg = dict(type='BN', requires_grad=True)
pretrained_backbone = 'checkpoints/r18v1c-half_mini-natural-pretrain.pth'
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    # Starts from the mini counterpart of an ImageNet checkpoint: pretrained to name procedural
    # outline families (none of the datasets' categories) in the same natural world
    # (tools/pretrain_mini_backbone.py, checkpoints/README.md).
    backbone=dict(depth=18, stem_channels=32, base_channels=32, norm_cfg=norm_cfg,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained_backbone)),
    decode_head=dict(in_channels=256, channels=64, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=128, channels=32, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
dataset_train = dict(
    type='PascalVOCDataset',
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt',
    pipeline=train_pipeline)
dataset_aug = dict(
    type='PascalVOCDataset',
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file='ImageSets/Segmentation/aug.txt',
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    dataset=dict(type='ConcatDataset', datasets=[dataset_train, dataset_aug]))
val_dataloader = dict(
    num_workers=2,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 600
# The stock config fine-tunes its ImageNet backbone at lr 0.01; the mini backbone's pretraining
# is far shorter, so the whole model trains at the from-scratch rate.
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters),
    visualization=dict(draw=False))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
