# unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py trained twice as long (40 epochs,
# 5,120 iterations, the learning rate divided by 10 after 30): the training-length ablation of
# the generators study.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py']

param_scheduler = dict(
    generator=[dict(type='MultiStepLR', milestones=[30], gamma=0.1, by_epoch=True)],
    surrogate=[dict(type='MultiStepLR', milestones=[30], gamma=0.1, by_epoch=True)])
train_cfg = dict(max_epochs=40, val_interval=10)
