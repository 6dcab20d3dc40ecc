# The mini HQSeg-44K set written by tools/make_mini_datasets.py (the HQSeg-44K folder layout),
# for the tiny generator: the generator's 256 px frame, large-scale jitter as UnSeg trains.
dataset_type = 'HQSegDataset'
data_root = 'data/mini/hqseg'
frame = 256
train_subsets = [
    dict(im_dir='DIS5K/DIS-TR/im', gt_dir='DIS5K/DIS-TR/gt'),
    dict(im_dir='thin_object_detection/ThinObject5K/images_train',
         gt_dir='thin_object_detection/ThinObject5K/masks_train'),
    dict(im_dir='cascade_psp/DUTS-TR', gt_dir='cascade_psp/DUTS-TR'),
]
val_subsets = [
    dict(im_dir='DIS5K/DIS-VD/im', gt_dir='DIS5K/DIS-VD/gt'),
    dict(im_dir='thin_object_detection/ThinObject5K/images_test',
         gt_dir='thin_object_detection/ThinObject5K/masks_test'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBinaryMask'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=(frame, frame), ratio_range=(0.3, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(frame, frame)),
    dict(type='PackSegInputs')
]
val_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBinaryMask'),
    dict(type='Resize', scale=(frame, frame), keep_ratio=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, subsets=train_subsets, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        subsets=val_subsets,
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
