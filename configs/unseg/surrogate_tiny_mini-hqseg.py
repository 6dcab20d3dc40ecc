# A fresh tiny SAM-architecture surrogate (the bilevel surrogate's architecture, 128 px) trained
# from scratch on the mini HQSeg training images: clean as given, or protected when
# benchmarks/generator_effect.py inserts UnSegProtect into the training pipeline. Validation is
# on clean images; the metric is the IoU of the predicted object masks (box prompts).
_base_ = ['../_base_/datasets/mini_hqseg.py', '../_base_/unseg_runtime.py']

model = dict(
    type='InteractiveSegmentor',
    data_preprocessor=dict(type='UnSegDataPreprocessor', size=256),
    segmentor=dict(type='SAMSurrogate', arch='tiny', img_size=128, patch_size=8),
    loss_points=48 * 48)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, by_epoch=True, eta_min=1e-5)]
train_cfg = dict(max_epochs=30, val_interval=30)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=30, max_keep_ckpts=1))
