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


def flat_trained(variant: str, flat_budget: bool = True) -> dict:
    """A generator trained at the flat budget, pattern x4 (checkpoints/unseg_generator_tiny_mini-
    hqseg-natural-hp5-train8-sur96-flat<variant>-gain4.pth), published at the flat budget or, with
    ``flat_budget=False``, at the region budgets."""
    method = dict(method='unseg', checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-'
                                              f'hp5-train8-sur96-flat{variant}-gain4.pth'))
    if flat_budget:
        method['flat_budget'] = True
    return method


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
    unseg_natural_hp5_train8_sur96_flattrained_gain4_flat=flat_trained(''),
    # ... with the surrogate prompted by the whole frame (...-flat-frame.py): it has to find the
    # object by itself, as the target models do.
    unseg_natural_frame_gain4_flat=flat_trained('-frame'),
    # ... with a NoiseProbe as third player of the min-min (...-flat-probe.py): the generator is
    # also asked for a pattern a shallow local model reads the object from, with no image. At
    # the flat budget and at the region budgets; and with the probe's loss weighted 10 x
    # (...-flat-probe10.py).
    unseg_natural_probe_gain4_flat=flat_trained('-probe'),
    unseg_natural_probe_gain4=flat_trained('-probe', flat_budget=False),
    unseg_natural_probe10_gain4_flat=flat_trained('-probe10'),
    # the flat recipe with a region texture in the noise decoder (...-flat-texture.py): two
    # trained tiles, one for the objects and one for the rest, shared by every image; with the
    # tiles learning 30 x faster (...-texture-lr30.py), also shifted by a random offset per
    # training image (...-lr30-shift.py; at both budgets), zero-mean (...-shift-zm.py), and
    # zero-mean with a fixed strength (...-shift-rms2.py; at both budgets), that with the
    # surrogate seeing the images through a random down-scaling (...-rms2-rescale.py), and
    # trained with another seed (...-rms2-seed1.py)
    unseg_natural_texture_gain4_flat=flat_trained('-texture'),
    unseg_natural_texture_lr30_gain4_flat=flat_trained('-texture-lr30'),
    unseg_natural_texture_shift_gain4_flat=flat_trained('-texture-lr30-shift'),
    unseg_natural_texture_shift_gain4=flat_trained('-texture-lr30-shift', flat_budget=False),
    unseg_natural_texture_zm_gain4_flat=flat_trained('-texture-lr30-shift-zm'),
    unseg_natural_texture_rms2_gain4_flat=flat_trained('-texture-lr30-shift-rms2'),
    unseg_natural_texture_rms2_gain4=flat_trained('-texture-lr30-shift-rms2', flat_budget=False),
    unseg_natural_texture_rms2_rescale_gain4_flat=flat_trained('-texture-lr30-shift-rms2-rescale'),
    unseg_natural_texture_rms2_seed1_gain4_flat=flat_trained('-texture-lr30-shift-rms2-seed1'))
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
                             'unseg_natural_texture_zm_gain4_flat',
                             'unseg_natural_texture_rms2_gain4_flat',
                             'unseg_natural_texture_rms2_gain4',
                             'unseg_natural_texture_rms2_rescale_gain4_flat',
                             'unseg_natural_texture_rms2_seed1_gain4_flat'],
                    defences=['none'], layout='rows'))
