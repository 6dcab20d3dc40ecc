# Stage 0 of the tiny generator: a tiny SAM-architecture interactive segmenter trained on the mini
# HQSeg set. It stands in for SAM's released weights, which the tiny architecture has none of;
# `tools/convert_checkpoint.py sam-from-model` turns the result into a SAM-layout checkpoint
# (checkpoints/sam_tiny_mini-hqseg.pth) that the tiny generator freezes.
_base_ = ['../_base_/datasets/mini_hqseg.py', '../_base_/unseg_runtime.py']

model = dict(
    type='InteractiveSegmentor',
    data_preprocessor=dict(type='UnSegDataPreprocessor', size=256),
    segmentor=dict(type='SAMSurrogate', arch='tiny'),
    loss_points=48 * 48)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=60, by_epoch=True, eta_min=1e-5)]
train_cfg = dict(max_epochs=60, val_interval=20)
