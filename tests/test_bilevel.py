"""Bilevel min-min training: phases, what each phase updates, and the tiny config end to end."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import MODELS
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from conftest import config_path
from helpers import quick_cfg
from unseg_mm.apis.checkpoint import load_generator
from unseg_mm.models import UnSegBilevel


def _model(sam, generator_options=None, **kwargs):
    return UnSegBilevel(
        generator=dict(type='UnSegGenerator', arch='tiny', sam_checkpoint=sam,
                       **(generator_options or {})),
        surrogate=dict(type='SAMSurrogate', arch='tiny', img_size=128, patch_size=8),
        data_preprocessor=dict(type='UnSegDataPreprocessor', size=256), loss_points=256, **kwargs)


def _batch(n=2):
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, 200, 256), dtype=torch.uint8))
        mask = torch.zeros(1, 200, 256, dtype=torch.long)
        mask[:, 40 + i:150, 50:200] = 1
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_phase_schedule(tiny_sam_file):
    model = _model(tiny_sam_file, alternation=dict(by='epoch', surrogate=1, generator=3))
    assert [model.phase(e) for e in range(8)] == ['surrogate', 'generator', 'generator',
                                                  'generator'] * 2
    model = _model(tiny_sam_file, alternation=dict(by='iter', surrogate=2, generator=1))
    assert [model.phase(i) for i in range(6)] == ['surrogate', 'surrogate', 'generator'] * 2
    with pytest.raises(ValueError, match='generator_target'):
        _model(tiny_sam_file, generator_target='zeros')


@pytest.mark.parametrize('target', ['ones', 'gt'])
def test_each_phase_updates_only_its_level(tiny_sam_file, target):
    torch.manual_seed(0)
    model = _model(tiny_sam_file, alternation=dict(by='iter', surrogate=1, generator=1),
                   generator_target=target)
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-2)),
        surrogate=OptimWrapper(torch.optim.Adam(model.surrogate.parameters(), lr=1e-2)))

    def snapshot():
        return {k: v.clone() for k, v in model.state_dict(keep_vars=False).items()}

    hub = MessageHub.get_current_instance()
    frozen_before = {k: v.clone() for k, v in model.generator.image_encoder.state_dict().items()}
    for it, expected in ((0, 'surrogate'), (1, 'generator')):
        hub.update_info('iter', it)
        before = snapshot()
        log = model.train_step(_batch(), wrappers)
        after = snapshot()
        assert list(log) == [f'loss_{expected}'] and torch.isfinite(log[f'loss_{expected}'])
        changed = {k for k in before if not torch.equal(before[k], after[k])}
        assert changed, f'{expected} phase changed nothing'
        prefix = 'surrogate.' if expected == 'surrogate' else 'generator.mask_decoder.noise_'
        assert all(k.startswith(prefix) for k in changed), sorted(changed)[:5]
    for k, v in model.generator.image_encoder.state_dict().items():
        assert torch.equal(v, frozen_before[k])  # frozen SAM never moves


def test_runner_checkpoints_leave_out_the_frozen_sam(tiny_sam_file):
    model = _model(tiny_sam_file)
    keys = model.state_dict().keys()
    assert not any(k.startswith('generator.image_encoder.') for k in keys)
    assert any(k.startswith('generator.mask_decoder.noise_') for k in keys)
    assert any(k.startswith('surrogate.image_encoder.') for k in keys)


def test_predict_writes_masks_for_the_iou_metric(tiny_sam_file):
    model = _model(tiny_sam_file).eval()
    with torch.no_grad():
        samples = model.val_step(_batch())
    assert samples[0].pred_sem_seg.data.shape == samples[0].gt_sem_seg.data.shape


def test_tiny_generator_config_trains_and_exports(mini_root, tmp_path, in_repo_root,
                                                  tiny_sam_file):
    """tools/train.py's path for configs/unseg/unseg_generator_tiny_mini-hqseg.py, shortened."""
    cfg = quick_cfg(config_path('unseg', 'unseg_generator_tiny_mini-hqseg.py'), mini_root,
                    str(tmp_path), train_images=4, val_images=2)
    cfg.model.generator.sam_checkpoint = tiny_sam_file
    cfg.model.alternation = dict(by='iter', surrogate=1, generator=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_surrogate' in scalars and 'train/loss_generator' in scalars
    exported = osp.join(str(tmp_path), 'generator.pth')
    generator = load_generator(exported)
    assert generator.checkpoint_meta['train_eps_object'] == pytest.approx(1 / 255)
    # the run's last validation travels with the file (how far the min-min got)
    val = generator.checkpoint_meta['surrogate_val']
    assert val['epoch'] == 1 and 0.0 <= val['mIoU'] <= 100.0
    metrics = runner.test()
    assert 'mIoU' in metrics


def test_vitb_config_is_consistent():
    cfg = Config.fromfile(config_path('unseg', 'unseg_generator_vitb_hqseg44k.py'))
    assert cfg.model.generator.arch == 'vit_b'
    assert cfg.model.surrogate.img_size == 512
    assert cfg.model.data_preprocessor.size == 1024
    assert cfg.model.alternation == dict(by='epoch', surrogate=1, generator=3)
    assert cfg.train_cfg.max_epochs == 27


@pytest.mark.parametrize('name', ['unseg_generator_tiny_mini-hqseg-natural.py',
                                  'unseg_generator_tiny_mini-hqseg-natural-hp5.py',
                                  'unseg_generator_tiny_mini-hqseg-natural-hp5-train8.py',
                                  'unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py'])
def test_natural_world_generator_configs_build_what_they_say(name, mini_root):
    """Each candidate config reads the natural HQSeg set and changes only what its name says."""
    cfg = Config.fromfile(config_path('unseg', name))
    assert cfg.train_dataloader.dataset.data_root == 'data/mini/hqseg_natural'
    model = cfg.model
    assert model.generator.get('pattern_highpass', 0) == (5 if '-hp5' in name else 0)
    assert model.eps_object == pytest.approx((8 if '-train8' in name else 1) / 255)
    assert model.eps_background == pytest.approx(model.eps_object / 4)
    sur, gen = (96, 32) if '-sur96' in name else (32, 96)
    assert (model.alternation.surrogate, model.alternation.generator) == (sur, gen)
    # the mini root holds the same layout the config points at
    assert osp.isdir(osp.join(mini_root, 'hqseg_natural', 'DIS5K', 'DIS-TR', 'im'))


def test_surrogate_rescale_erases_fine_patterns_but_keeps_coarse_ones(tiny_sam_file):
    with pytest.raises(ValueError, match='surrogate_rescale'):
        _model(tiny_sam_file, surrogate_rescale=(0.5, 1.5))
    off = _model(tiny_sam_file)
    on = _model(tiny_sam_file, surrogate_rescale=(0.5, 0.5))
    yy, xx = torch.meshgrid(torch.arange(128), torch.arange(128), indexing='ij')
    checker = ((yy + xx) % 2).float().expand(1, 3, 128, 128)  # period 2: gone at half size
    coarse = ((yy // 8 + xx // 8) % 2).float().expand(1, 3, 128, 128)  # period 16: survives
    assert torch.equal(off.rescale(checker), checker)
    assert on.rescale(checker).std() < 0.1 * checker.std()
    assert on.rescale(coarse).std() > 0.6 * coarse.std()
    torch.manual_seed(0)
    a = _model(tiny_sam_file, surrogate_rescale=(0.5, 1.0)).rescale(coarse)
    torch.manual_seed(0)
    b = _model(tiny_sam_file, surrogate_rescale=(0.5, 1.0)).rescale(coarse)
    assert torch.equal(a, b)


def test_frame_prompts_tell_the_surrogate_nothing_of_the_object(tiny_sam_file):
    for bad in (dict(surrogate_prompts=()), dict(surrogate_prompts=('box', 'lasso')),
                dict(surrogate_prompts=('frame', 'frame')), dict(val_prompt='everything')):
        with pytest.raises(ValueError, match='surrogate_prompts|val_prompt'):
            _model(tiny_sam_file, **bad)
    model = _model(tiny_sam_file, surrogate_prompts=('frame', ), val_prompt='frame')
    masks = torch.zeros(2, 1, 256, 256)
    masks[0, :, 10:50, 20:90] = 1
    masks[1, :, 100:250, 5:30] = 1
    soft, prompts = model._surrogate_batch(masks)
    assert soft.shape == (2, 1, 128, 128)
    assert prompts.point_coords is None and prompts.masks is None
    assert prompts.boxes.tolist() == [[0., 0., 128., 128.]] * 2  # the same for every object
    # the reference's draw is kept where the default types are asked for: same random stream
    torch.manual_seed(3)
    _, default = _model(tiny_sam_file)._surrogate_batch(masks)
    torch.manual_seed(3)
    _, listed = _model(tiny_sam_file, surrogate_prompts=['box', 'point', 'mask'])._surrogate_batch(
        masks)
    for field in ('boxes', 'point_coords', 'point_labels', 'masks'):
        a, b = getattr(default, field), getattr(listed, field)
        assert (a is None and b is None) or torch.equal(a, b)
    # both levels train with it, and validation prompts with the frame too
    torch.manual_seed(0)
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-2)),
        surrogate=OptimWrapper(torch.optim.Adam(model.surrogate.parameters(), lr=1e-2)))
    hub = MessageHub.get_current_instance()
    for it in range(2):
        hub.update_info('iter', it)
        log = model.train_step(_batch(), wrappers)
        assert all(torch.isfinite(v) for v in log.values())
    with torch.no_grad():
        samples = model.eval().val_step(_batch())
    assert samples[0].pred_sem_seg.data.shape == samples[0].gt_sem_seg.data.shape


@pytest.mark.parametrize('variant', ['natural-hp5-train8-sur96-flat',
                                     'natural-hp5-train8-sur96-flat-frame',
                                     'natural-hp5-train8-sur96-flat-probe',
                                     'cluttered-hp5-train8-sur96-flat-frame',
                                     'cluttered-hp5-train8-sur96-flat-boxframe'])
def test_flat_budget_generator_configs_build_what_they_say(variant, tiny_sam_file):
    name = f'unseg_generator_tiny_mini-hqseg-{variant}.py'
    cfg = Config.fromfile(config_path('unseg', name))
    model = cfg.model
    assert model.eps_object == pytest.approx(8 / 255)
    assert model.eps_background == pytest.approx(8 / 255)  # no budget map
    assert (model.alternation.surrogate, model.alternation.generator) == (96, 32)
    assert ('noise_probe' in model) == variant.endswith('-probe')
    assert ('noise_probe' in cfg.optim_wrapper) == variant.endswith('-probe')
    prompts = {'frame': ('frame', ), 'boxframe': ('box', 'frame')}.get(
        variant.rsplit('-', 1)[1], ('box', 'point', 'mask'))
    assert tuple(model.get('surrogate_prompts', ('box', 'point', 'mask'))) == prompts
    assert cfg.train_dataloader.dataset.data_root == \
        f"data/{'mini_cluttered' if '-cluttered' in name else 'mini'}/hqseg_natural"
    model.generator.sam_checkpoint = tiny_sam_file
    assert MODELS.build(model).surrogate_prompts == prompts


def test_noise_probe_is_a_third_player_of_the_min_min(tiny_sam_file):
    """The probe trains with the surrogate; the generator minimises the probe's loss as well."""
    torch.manual_seed(0)
    model = _model(tiny_sam_file, alternation=dict(by='iter', surrogate=1, generator=1),
                   generator_target='gt', eps_background=1 / 255,
                   noise_probe=dict(type='NoiseProbe', channels=4))
    wrappers = dict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-2)),
        surrogate=OptimWrapper(torch.optim.Adam(model.surrogate.parameters(), lr=1e-2)))
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    with pytest.raises(KeyError, match="no 'noise_probe' entry"):
        model.train_step(_batch(), OptimWrapperDict(**wrappers))
    wrappers = OptimWrapperDict(
        noise_probe=OptimWrapper(torch.optim.Adam(model.noise_probe.parameters(), lr=1e-2)),
        **wrappers)
    for it, logged, prefixes in (
            (0, ['loss_surrogate', 'loss_probe'], ('surrogate.', 'noise_probe.')),
            (1, ['loss_generator', 'loss_generator_probe'], ('generator.mask_decoder.noise_', ))):
        hub.update_info('iter', it)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        log = model.train_step(_batch(), wrappers)
        assert list(log) == logged and all(torch.isfinite(v) for v in log.values())
        changed = {k for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
        assert {k.split('.')[0] for k in changed} == {p.split('.')[0] for p in prefixes}
        assert all(k.startswith(prefixes) for k in changed), sorted(changed)[:5]
    with pytest.raises(ValueError, match='noise_probe_weight'):
        _model(tiny_sam_file, noise_probe=dict(type='NoiseProbe'), noise_probe_weight=-1)


def test_generator_phase_logs_the_image_part_rms_beside_region_tiles(tiny_sam_file):
    """With region tiles the generator phase logs image_logit_rms (the decoder's
    image-dependent logits' RMS, the diagnostic of runs whose image part drowned the tiles)."""
    torch.manual_seed(0)
    model = _model(tiny_sam_file, generator_options=dict(region_texture=4, region_texture_rms=2.0,
                                                         image_logit_bound=0.25),
                   alternation=dict(by='iter', surrogate=1, generator=1))
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-2)),
        surrogate=OptimWrapper(torch.optim.Adam(model.surrogate.parameters(), lr=1e-2)))
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    assert list(model.train_step(_batch(), wrappers)) == ['loss_surrogate']
    hub.update_info('iter', 1)
    log = model.train_step(_batch(), wrappers)
    assert list(log) == ['loss_generator', 'image_logit_rms']
    assert 0.0 < float(log['image_logit_rms']) <= 0.25  # under the bound
    assert not log['image_logit_rms'].requires_grad


def test_image_logit_cap_penalises_the_image_part_above_the_cap(tiny_sam_file):
    """image_logit_cap adds weight * relu(rms - cap) ** 2 of the image-dependent logits (before
    the hard bound) to the generator's objective, and a step with it lowers that RMS."""
    with pytest.raises(ValueError, match='region_texture'):
        _model(tiny_sam_file, image_logit_cap=1.0)
    with pytest.raises(ValueError, match='image_logit_cap'):
        _model(tiny_sam_file, generator_options=dict(region_texture=4), image_logit_cap=-1.0)
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    after = {}
    for weight in (0.0, 5.0):
        torch.manual_seed(0)
        model = _model(tiny_sam_file,
                       generator_options=dict(region_texture=4, region_texture_rms=2.0,
                                              image_logit_bound=0.25),
                       image_logit_cap=0.01, image_logit_cap_weight=weight,
                       alternation=dict(by='iter', surrogate=0, generator=1))
        wrappers = OptimWrapperDict(
            generator=OptimWrapper(torch.optim.SGD(model.generator.parameters(), lr=1e-2)),
            surrogate=OptimWrapper(torch.optim.SGD(model.surrogate.parameters(), lr=1e-2)))
        decoder = model.generator.mask_decoder
        torch.manual_seed(1)
        log = model.train_step(_batch(), wrappers)
        raw = float(decoder.image_logit_rms_raw)
        assert list(log) == ['loss_generator', 'image_logit_rms', 'loss_image_logit_cap']
        assert float(log['image_logit_rms']) <= 0.25 < raw  # the cap sees the part unbounded
        assert float(log['loss_image_logit_cap']) == pytest.approx((raw - 0.01) ** 2, rel=1e-5)
        assert not log['loss_image_logit_cap'].requires_grad
        torch.manual_seed(1)
        model.train_step(_batch(), wrappers)
        after[weight] = float(decoder.image_logit_rms_raw)
    assert after[5.0] < 0.9 * after[0.0]


def test_noise_probe_reads_a_textured_mark_that_iid_noise_does_not_give():
    """A few steps of training read an object grating from the noise, not i.i.d. noise."""
    from unseg_mm.models import NoiseProbe
    from unseg_mm.models.losses import point_sampled_mask_loss
    with pytest.raises(ValueError, match='odd'):
        NoiseProbe(kernel_size=4)
    mask = torch.zeros(4, 1, 64, 64)
    mask[:, :, 16:48, 8:40] = 1
    x = torch.arange(64.)
    grating = torch.sign(torch.sin(x * 2.1))[None, None, None].expand(4, 3, 64, 64)

    def iid():
        return torch.rand(4, 3, 64, 64) * 2 - 1

    def marked():
        return torch.where(mask.bool(), grating, iid())

    def held_out_accuracy(draw):
        """Fitted on one draw, scored on a fresh one (a probe can memorise a fixed draw)."""
        torch.manual_seed(0)
        probe = NoiseProbe(channels=8)
        optim = torch.optim.Adam(probe.parameters(), lr=2e-2)
        inputs = draw()
        for _ in range(150):
            loss = point_sampled_mask_loss(probe(inputs), mask, 1024)
            optim.zero_grad()
            loss.backward()
            optim.step()
        with torch.no_grad():
            pred = probe(draw()) > 0
        return (pred == mask.bool()).float().mean().item()

    assert held_out_accuracy(marked) > 0.9
    assert held_out_accuracy(iid) < 0.8  # all background: 0.75


def test_fixed_region_colours_stay_put_while_the_tiles_train(tiny_sam_file):
    """region_texture_colour_fixed: the two colour directions are set, not trained; a generator
    step moves the tiles' texture and leaves the directions where they were set."""
    torch.manual_seed(0)
    model = _model(tiny_sam_file,
                   generator_options=dict(region_texture=4, region_texture_rms=2.0,
                                          region_texture_zero_mean=True,
                                          region_texture_colour='orthogonal',
                                          region_texture_colour_fixed=[[0, 1, 1], [1, 0, 0]]),
                   alternation=dict(by='iter', surrogate=0, generator=1))
    decoder = model.generator.mask_decoder
    assert not decoder.noise_region_texture_colour.requires_grad
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-1)),
        surrogate=OptimWrapper(torch.optim.Adam(model.surrogate.parameters(), lr=1e-1)))
    colours, tiles = decoder.region_colours().clone(), decoder.noise_region_texture.clone()
    hub = MessageHub.get_current_instance()
    for it in range(2):
        hub.update_info('iter', it)
        model.train_step(_batch(), wrappers)
    assert torch.equal(decoder.region_colours(), colours)
    assert torch.allclose(colours, torch.tensor([[0, 2 ** -0.5, 2 ** -0.5], [1.0, 0, 0]]))
    assert not torch.equal(decoder.noise_region_texture, tiles)
