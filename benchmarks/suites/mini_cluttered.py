# The mini suite's VOC task in the "cluttered" world (tools/make_mini_datasets.py --world
# cluttered): the natural world plus 2-4 unlabelled near objects per image, sharp and at full
# contrast like the labelled ones, of outline families that are none of the categories. There a
# sharp salient thing is not yet an object: finding the objects takes knowing the categories'
# shapes, as on photos with unlabelled things in front. It asks whether a class-agnostic mark of
# the objects (what UnSeg's union prompts carry) can win where objectness is hard.
# `python benchmarks/run.py --suite mini_cluttered` (writes data/mini_cluttered on first use).
_base_ = ['./mini.py']
scale = ('mini, cluttered world: synthetic VOC of 256 train / 48 val images (128x160 px) with '
         'unlabelled near clutter, half-width ResNet-18 DeepLabV3 (mini-pretrained backbone), '
         'tiny generators; schedules in the table')
data_root = 'data/mini_cluttered'
config_data_root = 'data/mini'  # the mini configs' paths are rebased from there
mini_data = dict(formats=['voc'], world='cluttered')
tasks = dict(
    _delete_=True,
    voc_deeplabv3=dict(
        dataset='VOC (cluttered)', arch='DeepLabV3', config='configs/mini/deeplabv3_r18_mini-voc.py',
        format='voc', root='VOCdevkit/VOC2012', metric='mIoU', schedule=1200,
        protect=dict(background_labels=(0, ))))
# Diagnostics: the same patterns at the object budget on every pixel, so that the amplitude map
# says nothing of the objects (at 8/255 objects, 2/255 elsewhere it alone marks them: `uniform`).
# What such a method still does comes from its pattern.
methods = dict(
    grating_objects_flat=dict(method='grating', options=dict(classwise=False), flat_budget=True),
    unseg_natural_hp5_train8_sur96_gain4_flat=dict(
        _base_.methods.unseg_natural_hp5_train8_sur96_gain4, flat_budget=True),
    # The sur96 recipe trained at one budget for the whole image (configs/unseg/unseg_generator_
    # tiny_mini-hqseg-natural-hp5-train8-sur96-flat.py), pattern x4, published at the flat budget
    # (where only its pattern can mark the objects).
    unseg_natural_hp5_train8_sur96_flattrained_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'gain4.pth')),
    # ... with the surrogate prompted by the whole frame (...-natural-hp5-train8-sur96-flat-
    # frame.py): it has to find the object by itself, as the target models do.
    unseg_natural_frame_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'frame-gain4.pth')),
    # ... with a NoiseProbe as third player of the min-min (...-natural-hp5-train8-sur96-flat-
    # probe.py): the generator is also asked for a pattern a shallow local model reads the object
    # from, with no image. Pattern x4, at the flat budget and at the region budgets.
    unseg_natural_probe_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'probe-gain4.pth')),
    unseg_natural_probe_gain4=dict(
        method='unseg',
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'probe-gain4.pth')),
    # ... with the probe's loss weighted 10 x in the generator's objective (...-flat-probe10.py)
    unseg_natural_probe10_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'probe10-gain4.pth')),
    # the flat recipe with a region texture in the noise decoder (...-flat-texture.py): two
    # trained tiles, one for the objects and one for the rest, shared by every image
    unseg_natural_texture_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'texture-gain4.pth')),
    # ... with the tiles learning 30 x faster than the rest of the decoder (...-texture-lr30.py)
    unseg_natural_texture_lr30_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'texture-lr30-gain4.pth')),
    # ... with the tiles shifted by a random offset per training image (...-texture-lr30-shift.py)
    unseg_natural_texture_shift_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'texture-lr30-shift-gain4.pth')),
    unseg_natural_texture_shift_gain4=dict(
        method='unseg',
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'texture-lr30-shift-gain4.pth')),
    # ... with zero-mean tiles: texture only, no colour cast (...-texture-lr30-shift-zm.py)
    unseg_natural_texture_zm_gain4_flat=dict(
        method='unseg', flat_budget=True,
        checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                    'texture-lr30-shift-zm-gain4.pth')))
studies = dict(
    _delete_=True,
    objectness=dict(title='Hard objectness: controls, baselines and generators at 8/255 '
                    '(2/255 background), cluttered world (VOC, DeepLabV3)',
                    tasks=['voc_deeplabv3'],
                    methods=['clean', 'uniform_flat', 'uniform', 'grating', 'grating_objects',
                             'synper', 'ar', 'cuda',
                             'unseg_natural_hp5_train8_sur96',
                             'unseg_natural_hp5_train8_sur96_gain4',
                             'unseg_cluttered_hp5_train8_sur96',
                             'unseg_cluttered_hp5_train8_sur96_gain4',
                             'grating_objects_flat',
                             'unseg_natural_hp5_train8_sur96_gain4_flat',
                             'unseg_natural_hp5_train8_sur96_flattrained_gain4_flat',
                             'unseg_natural_frame_gain4_flat',
                             'unseg_natural_probe_gain4_flat', 'unseg_natural_probe_gain4',
                             'unseg_natural_probe10_gain4_flat',
                             'unseg_natural_texture_gain4_flat',
                             'unseg_natural_texture_lr30_gain4_flat',
                             'unseg_natural_texture_shift_gain4_flat',
                             'unseg_natural_texture_shift_gain4',
                             'unseg_natural_texture_zm_gain4_flat'],
                    defences=['none'], layout='rows'))
