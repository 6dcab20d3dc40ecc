# DeepLabV3 on the mini Cityscapes set (tools/make_mini_datasets.py; 256 x 128 images), sized for
# a 2-core CPU. Only overrides of the stock mmseg config: the mini DeepLabV3 of
# _base_/deeplabv3_r18_mini.py, as the mini VOC config uses it; 19 train ids as stock.
_base_ = [
    'mmseg::deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    './_base_/deeplabv3_r18_mini.py', './_base_/mini_runtime.py'
]
_mini, _net = _base_._mini, _base_._deeplabv3

data_root = 'data/mini/cityscapes'
scale = (256, 128)  # the mini counterpart of the stock (2048, 1024): the images' own size
crop_size, norm_cfg, pretrained_backbone = (_net.crop_size, _net.norm_cfg,
                                            _net.pretrained_backbone)
model = _net.model

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    *_net.train_after_resize
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8, **_mini.loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(**_mini.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = _net.max_iters
optim_wrapper, param_scheduler, train_cfg = (_net.optim_wrapper, _net.param_scheduler,
                                             _net.train_cfg)
default_hooks = dict(_net.default_hooks, visualization=_mini.visualization)
env_cfg, randomness = _mini.env_cfg, _mini.randomness
