# The tiny UnSeg generator trained on the natural-world mini HQSeg set (1,024 scenes of outline
# families the benchmark never uses): the recipe of unseg_generator_tiny_mini-hqseg.py (frozen
# tiny SAM + trainable noise decoder, from-scratch tiny surrogate, bilevel min-min, training
# budgets 1/255 and 0.25/255) with the reference's 1 : 3 alternation of surrogate and generator
# in blocks of a quarter and three quarters of an epoch (128 iterations).
_base_ = ['./unseg_generator_tiny_mini-hqseg.py']

data_root = 'data/mini/hqseg_natural'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

model = dict(alternation=dict(by='iter', surrogate=32, generator=96))
param_scheduler = dict(
    generator=[dict(type='MultiStepLR', milestones=[15], gamma=0.1, by_epoch=True)],
    surrogate=[dict(type='MultiStepLR', milestones=[15], gamma=0.1, by_epoch=True)])
train_cfg = dict(max_epochs=20, val_interval=5)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
