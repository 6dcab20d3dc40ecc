# The full suite: the stock mmseg/mmdet configs on the real datasets (as laid out under
# `data/`, the stock configs' data_root), the ViT-B generator, the stock schedules (GPUs).
# `python benchmarks/run.py --suite full --data-root data`; the tables of the paper's setting.
_base_ = './mini.py'

scale = 'full: the real datasets, stock configs and schedules, ViT-B generator'
data_root = 'data'
mini_data = False
device = 'cuda'
generator = 'checkpoints/unseg_generator_vitb_hqseg44k.pth'

tasks = dict(
    _delete_=True,
    voc_deeplabv3=dict(
        dataset='VOC', arch='DeepLabV3',
        config='mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py', format='voc',
        root='VOCdevkit/VOC2012', metric='mIoU', schedule=None,
        protect=dict(background_labels=(0, ))),
    cityscapes_deeplabv3=dict(
        dataset='Cityscapes', arch='DeepLabV3',
        config='mmseg::deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
        format='cityscapes', root='cityscapes', metric='mIoU', schedule=None, protect=dict()),
    cityscapes_mask2former=dict(
        dataset='Cityscapes', arch='Mask2Former (semantic)',
        config='mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py',
        format='cityscapes', root='cityscapes', metric='mIoU', schedule=None, protect=dict()),
    ade20k_mask2former=dict(
        dataset='ADE20K', arch='Mask2Former (semantic)',
        config='mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py', format='ade20k',
        root='ADEChallengeData2016', metric='mIoU', schedule=None, protect=dict()),
    coco_mask2former_panoptic=dict(
        dataset='COCO', arch='Mask2Former (panoptic)',
        config='mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py',
        format='coco_panoptic', root='coco', metric='coco_panoptic/PQ', schedule=None,
        protect=dict()),
    coco_mask2former_instance=dict(
        dataset='COCO', arch='Mask2Former (instance)',
        config='mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py', format='coco',
        root='coco', metric='coco/segm_mAP', metric_scale=100, schedule=None, protect=dict()),
    coco_dino=dict(
        dataset='COCO', arch='DINO (detection)',
        config='mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', format='coco', root='coco',
        metric='coco/bbox_mAP', metric_scale=100, schedule=None, protect=dict()),
)
methods = dict(unseg=dict(method='unseg', checkpoint=generator))
defences = dict(pgd_at=dict(adversarial=dict(eps=4 / 255, steps=10)))
studies = dict(
    _delete_=True,
    main=dict(title='Clean vs protected training data (clean val metric)',
              tasks=['voc_deeplabv3', 'cityscapes_deeplabv3', 'cityscapes_mask2former',
                     'ade20k_mask2former', 'coco_mask2former_panoptic',
                     'coco_mask2former_instance', 'coco_dino'],
              methods=['clean', 'unseg', 'synper', 'ar', 'cuda'], defences=['none']),
    defences=dict(title='Defences (VOC, DeepLabV3)', tasks=['voc_deeplabv3'],
                  methods=['clean', 'unseg', 'synper', 'ar', 'cuda'],
                  defences=['none', 'jpeg10', 'grayscale', 'pgd_at']),
    mix=dict(title='Share of clean images in the published training set (VOC, DeepLabV3)',
             tasks=['voc_deeplabv3'], methods=['unseg'], defences=['none'],
             vary=dict(mix_clean_ratio=[0.0, 0.25, 0.5, 0.75, 1.0])),
)
