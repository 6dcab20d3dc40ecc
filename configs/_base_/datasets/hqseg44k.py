# HQSeg-44K as SAM-HQ distributes it (data/sam-hq/{DIS5K, thin_object_detection, cascade_psp}):
# the generator's training set at the paper's scale, 1024 px frame, UnSeg's large-scale jitter.
dataset_type = 'HQSegDataset'
data_root = 'data/sam-hq'
frame = 1024
train_subsets = [
    dict(im_dir='DIS5K/DIS-TR/im', gt_dir='DIS5K/DIS-TR/gt'),
    dict(im_dir='thin_object_detection/ThinObject5K/images_train',
         gt_dir='thin_object_detection/ThinObject5K/masks_train'),
    dict(im_dir='cascade_psp/fss_all', gt_dir='cascade_psp/fss_all'),
    dict(im_dir='cascade_psp/DUTS-TR', gt_dir='cascade_psp/DUTS-TR'),
    dict(im_dir='cascade_psp/DUTS-TE', gt_dir='cascade_psp/DUTS-TE'),
    dict(im_dir='cascade_psp/ecssd', gt_dir='cascade_psp/ecssd'),
    dict(im_dir='cascade_psp/MSRA_10K', gt_dir='cascade_psp/MSRA_10K'),
]
val_subsets = [
    dict(im_dir='DIS5K/DIS-VD/im', gt_dir='DIS5K/DIS-VD/gt'),
    dict(im_dir='thin_object_detection/COIFT/images', gt_dir='thin_object_detection/COIFT/masks'),
    dict(im_dir='thin_object_detection/HRSOD/images',
         gt_dir='thin_object_detection/HRSOD/masks_max255'),
    dict(im_dir='thin_object_detection/ThinObject5K/images_test',
         gt_dir='thin_object_detection/ThinObject5K/masks_test'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBinaryMask'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=(frame, frame), ratio_range=(0.1, 2.0), keep_ratio=True),
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
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, subsets=train_subsets, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
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
