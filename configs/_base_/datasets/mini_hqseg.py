# The mini HQSeg-44K set written by tools/make_mini_datasets.py (the HQSeg-44K folder layout),
# for the tiny generator: hqseg44k.py at the generator's 256 px frame, with the subsets the mini
# set has, batch 8 and the jitter scaled to the small images.
_base_ = './hqseg44k.py'

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
# the base's pipelines at this frame, with the jitter scaled to the small images
train_pipeline = _base_.train_pipeline
train_pipeline[3].update(scale=(frame, frame), ratio_range=(0.3, 2.0))
train_pipeline[4].update(crop_size=(frame, frame))
val_pipeline = _base_.val_pipeline
val_pipeline[2].update(scale=(frame, frame))
train_dataloader = dict(
    batch_size=8,
    persistent_workers=False,
    dataset=dict(data_root=data_root, subsets=train_subsets, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    persistent_workers=False,
    dataset=dict(data_root=data_root, subsets=val_subsets, pipeline=val_pipeline))
test_dataloader = val_dataloader
