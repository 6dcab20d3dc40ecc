# The mini DeepLabV3 shared by the VOC and Cityscapes mini configs (read there through
# `_base_._deeplabv3`; see mini_runtime.py for '_' names): a half-width ResNet-18-V1c backbone
# (mini-pretrained), narrow heads, 128 px crops, a 600-iteration schedule.
_crop_size = (128, 128)
_norm_cfg = dict(type='BN', requires_grad=True)
_pretrained_backbone = 'checkpoints/r18v1c-half_mini-natural-pretrain.pth'
_max_iters = 600
_deeplabv3 = dict(
    crop_size=_crop_size,
    norm_cfg=_norm_cfg,
    pretrained_backbone=_pretrained_backbone,
    model=dict(
        data_preprocessor=dict(size=_crop_size),
        pretrained=None,
        # Starts from the mini counterpart of an ImageNet checkpoint: pretrained to name
        # procedural outline families (none of the datasets' categories) in the same natural
        # world (tools/pretrain_mini_backbone.py, checkpoints/README.md).
        backbone=dict(depth=18, stem_channels=32, base_channels=32, norm_cfg=_norm_cfg,
                      init_cfg=dict(type='Pretrained', checkpoint=_pretrained_backbone)),
        decode_head=dict(in_channels=256, channels=64, norm_cfg=_norm_cfg),
        auxiliary_head=dict(in_channels=128, channels=32, norm_cfg=_norm_cfg)),
    # the training pipeline after its (dataset-specific) RandomResize
    train_after_resize=[
        dict(type='RandomCrop', crop_size=_crop_size, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='Pad', size=_crop_size),
        dict(type='PackSegInputs')
    ],
    max_iters=_max_iters,
    # The stock config fine-tunes its ImageNet backbone at lr 0.01; the mini backbone's
    # pretraining is far shorter, so the whole model trains at the from-scratch rate.
    optim_wrapper=dict(optimizer=dict(lr=0.05)),
    param_scheduler=[
        dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=_max_iters, by_epoch=False)
    ],
    train_cfg=dict(max_iters=_max_iters, val_interval=_max_iters),
    default_hooks=dict(logger=dict(interval=20), checkpoint=dict(interval=_max_iters)))
