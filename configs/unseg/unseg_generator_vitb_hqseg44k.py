# The UnSeg generator at the paper's scale: SAM ViT-B (frozen, from sam_vit_b_01ec64.pth) + noise
# decoder, trained on HQSeg-44K against a ViT-B SAM-architecture surrogate at 512 px whose image
# encoder starts from MAE ViT-B weights. Reference schedule: Adam 1e-4, 27 epochs, LR x0.1 at
# epoch 20, 1 surrogate epoch then 3 generator epochs, batch 4 per GPU on 8 GPUs:
#   torchrun --nproc-per-node 8 tools/train.py configs/unseg/unseg_generator_vitb_hqseg44k.py \
#       --launcher pytorch
# Data layout: data/sam-hq/{DIS5K, thin_object_detection, cascade_psp} as SAM-HQ distributes
# HQSeg-44K. Weights: checkpoints/sam_vit_b_01ec64.pth (SAM release) and
# checkpoints/mae_pretrain_vit_base.pth (MAE release).
_base_ = ['../_base_/datasets/hqseg44k.py', '../_base_/unseg_runtime.py']

frame = 1024
model = dict(
    type='UnSegBilevel',
    data_preprocessor=dict(type='UnSegDataPreprocessor', size=frame),
    generator=dict(
        type='UnSegGenerator', arch='vit_b', sam_checkpoint='checkpoints/sam_vit_b_01ec64.pth'),
    surrogate=dict(
        type='SAMSurrogate',
        arch='vit_b',
        img_size=512,
        mae_checkpoint='checkpoints/mae_pretrain_vit_base.pth'),
    eps_object=1 / 255,
    eps_background=0.25 / 255,
    alternation=dict(by='epoch', surrogate=1, generator=3),
    generator_target='ones',
    loss_points=112 * 112)
optim_wrapper = dict(
    constructor='PerModuleOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4)),
    surrogate=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4)))
param_scheduler = dict(
    generator=[dict(type='StepLR', step_size=20, gamma=0.1, by_epoch=True)],
    surrogate=[dict(type='StepLR', step_size=20, gamma=0.1, by_epoch=True)])
train_cfg = dict(max_epochs=27, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
# UnSegBilevel.train_step drives its own optimisers (as mmagic's GANs): wrap generator and
# surrogate separately; in each phase the other level gets no gradient.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=True)
custom_hooks = [dict(type='GeneratorExportHook', filename='generator.pth', interval=1)]
auto_scale_lr = dict(enable=False, base_batch_size=32)
