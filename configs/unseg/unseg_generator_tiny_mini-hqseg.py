# The tiny UnSeg generator, trained on the mini HQSeg set on a CPU in minutes.
# Same method and code as the ViT-B config: frozen SAM (here the tiny SAM of
# sam_tiny_mini-hqseg.py) + trainable noise decoder, against a from-scratch SAM-architecture
# surrogate, bilevel min-min, budgets 1/255 (object) and 0.25/255 (background) at training.
# Sized for CPU: tiny ViT, 256 px generator frame, 128 px surrogate, alternation by iteration.
_base_ = ['../_base_/datasets/mini_hqseg.py', '../_base_/unseg_runtime.py']

model = dict(
    type='UnSegBilevel',
    data_preprocessor=dict(type='UnSegDataPreprocessor', size=256),
    generator=dict(
        type='UnSegGenerator', arch='tiny', sam_checkpoint='checkpoints/sam_tiny_mini-hqseg.pth'),
    surrogate=dict(type='SAMSurrogate', arch='tiny', img_size=128, patch_size=8),
    eps_object=1 / 255,
    eps_background=0.25 / 255,
    # The reference alternates 1 surrogate epoch : 3 generator epochs over 27 epochs of ~1400
    # iterations; a 64-image set has 8 iterations per epoch, so alternate in blocks of iterations.
    alternation=dict(by='iter', surrogate=8, generator=24),
    # The paper's objective: minimise the surrogate's loss on the true masks ('gt'). The
    # released code's all-ones target ('ones') gave one constant colour shift over the whole
    # image in a development run here (not benchmarked); 'gt' gives a mask-aligned colour
    # cast, whose effect on a fresh surrogate benchmarks/generator_effect.py measures.
    generator_target='gt',
    loss_points=48 * 48)
optim_wrapper = dict(
    constructor='PerModuleOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
    surrogate=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)))
param_scheduler = dict(
    generator=[dict(type='MultiStepLR', milestones=[30], gamma=0.1, by_epoch=True)],
    surrogate=[dict(type='MultiStepLR', milestones=[30], gamma=0.1, by_epoch=True)])
train_cfg = dict(max_epochs=40, val_interval=10)
custom_hooks = [dict(type='GeneratorExportHook', filename='generator.pth')]
