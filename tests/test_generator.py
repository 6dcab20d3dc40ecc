"""The UnSeg generator, surrogate and checkpoints (segment_anything modules, both sizes)."""
import os.path as osp

import numpy as np
import pytest
import torch

from unseg_mm.apis.checkpoint import (load_generator, read_generator_file, sam_state_dict_from,
                                      save_generator)
from unseg_mm.apis.protect import ImagePrompts, ProtectConfig, protect
from unseg_mm.models import SAMSurrogate, UnSegGenerator
from unseg_mm.models.generator import highpass, is_trainable_name
from unseg_mm.models.prompts import Prompts, masks_to_boxes, noisy_masks, sample_points
from unseg_mm.models.surrogate import mae_to_sam_encoder


def _masks(batch, size, box=(0.2, 0.3, 0.7, 0.8)):
    m = torch.zeros(batch, 1, size, size)
    y0, x0, y1, x1 = (int(v * size) for v in box)
    m[:, :, y0:y1, x0:x1] = 1
    return m


def test_prompt_helpers():
    masks = torch.zeros(2, 1, 16, 20)
    masks[0, 0, 3:7, 5:12] = 1
    assert masks_to_boxes(masks).tolist() == [[5, 3, 12, 7], [0, 0, 0, 0]]
    coords, labels = sample_points(masks, 5, torch.Generator().manual_seed(0))
    xs, ys = coords[0, :, 0].long(), coords[0, :, 1].long()
    assert bool(masks[0, 0, ys, xs].all()) and labels[0].tolist() == [1] * 5
    assert labels[1].tolist() == [-1] * 5  # an empty mask gives padding points only
    noisy = noisy_masks(masks, torch.Generator().manual_seed(0))
    assert set(noisy.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match='at least one'):
        Prompts()
    with pytest.raises(ValueError, match='batch size'):
        Prompts(boxes=torch.zeros(2, 4), masks=torch.zeros(3, 1, 4, 4))


@pytest.mark.parametrize('types', [('mask', ), ('box', ), ('point', ), ('box', 'point', 'mask')])
def test_tiny_generator_forward_all_prompt_types(types, tiny_sam_file):
    from unseg_mm.models.prompts import sample_prompts
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file).eval()
    images = torch.rand(2, 3, 256, 256)
    with torch.no_grad():
        noise = generator(images, sample_prompts(_masks(2, 256), types))
    assert noise.shape == (2, 3, 64, 64)
    assert noise.abs().max() < 1  # a tanh pattern, never saturated to exactly +-1
    assert noise.std() > 0  # not a constant
    assert not torch.equal(noise[0], noise[1])  # each image gets its own pattern


def test_only_noise_decoder_is_trainable(tiny_sam_file):
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file)
    trainable = {n for n, p in generator.named_parameters() if p.requires_grad}
    assert trainable and all('noise' in n for n in trainable)
    assert all(n.startswith('mask_decoder.noise_') for n in trainable)
    sam = torch.load(tiny_sam_file, weights_only=True)
    own = generator.state_dict()
    assert all(torch.equal(own[k], v) for k, v in sam.items())


def test_sam_vit_b_checkpoint_layout_loads(tmp_path):
    """Weights in the layout of sam_vit_b_01ec64.pth (segment_anything.build_sam_vit_b)."""
    from segment_anything import build_sam_vit_b
    torch.manual_seed(1)
    state = build_sam_vit_b().state_dict()
    path = tmp_path / 'sam_vit_b.pth'
    torch.save(state, path)
    generator = UnSegGenerator(arch='vit_b', sam_checkpoint=str(path))
    own = generator.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items())
    del state, own
    # ViT-B at 1024 px: one pass, the perturbation stays within each region's budget.
    image = np.random.default_rng(0).integers(0, 256, (700, 1024, 3), dtype=np.uint8)
    obj = np.zeros(image.shape[:2], bool)
    obj[100:400, 200:700] = True
    cfg = ProtectConfig(eps_object=8 / 255, eps_background=2 / 255)
    result = protect([image], [ImagePrompts(objects=[obj])], generator.eval(), cfg, ['a.jpg'])[0]
    diff = np.abs(result.image.astype(int) - image.astype(int)).max(axis=2)
    assert diff[obj].max() <= 8 and diff[~obj].max() <= 2
    assert diff[obj].max() > 2  # the object budget is really used


def test_wrong_architecture_checkpoint_is_a_clear_error(tmp_path, tiny_sam_file):
    with pytest.raises(ValueError, match='does not match this architecture'):
        UnSegGenerator(arch='vit_b', sam_checkpoint=tiny_sam_file)
    bad = tmp_path / 'not_sam.pth'
    torch.save({'backbone.weight': torch.zeros(3)}, bad)
    with pytest.raises(ValueError, match='is it a SAM checkpoint'):
        UnSegGenerator(arch='tiny', sam_checkpoint=str(bad))
    with pytest.raises(ValueError, match='not a generator checkpoint'):
        load_generator(tiny_sam_file)


def test_generator_file_round_trip_and_sam_verification(tmp_path, tiny_sam_file):
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file)
    with torch.no_grad():
        for name, p in generator.named_parameters():
            if p.requires_grad:
                p.add_(0.01)
    path = str(tmp_path / 'g.pth')
    save_generator(generator, path, train_eps_object=1 / 255)
    content = read_generator_file(path)
    assert all(is_trainable_name(k) for k in content['state_dict'])
    assert content['meta']['train_eps_object'] == pytest.approx(1 / 255)
    loaded = load_generator(path)
    x, prompts = torch.rand(1, 3, 256, 256), Prompts(masks=_masks(1, 256))
    with torch.no_grad():
        assert torch.equal(loaded(x, prompts), generator.eval()(x, prompts))
    other = tmp_path / 'other_sam.pth'
    torch.manual_seed(5)
    torch.save(sam_state_dict_from(SAMSurrogate(arch='tiny')), other)
    with pytest.raises(ValueError, match='SHA-256 differs'):
        load_generator(path, sam_checkpoint=str(other))


def test_highpass_pattern_drops_flat_casts_and_keeps_fine_structure():
    flat = torch.full((1, 3, 16, 16), 0.8)
    assert highpass(flat, 5).abs().max() < 1e-6
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2 * 2.0 - 1
    out = highpass(checker.expand(1, 3, 16, 16), 5)
    # interior: minus a local mean of +-1/25; the clip keeps the budget at most 1
    assert out.abs().max() <= 1 and out[..., 2:-2, 2:-2].abs().min() > 0.9
    assert torch.equal(out.sign(), checker.expand(1, 3, 16, 16).sign())


def test_highpass_generator_round_trips_and_old_files_load_without_it(tmp_path, tiny_sam_file):
    torch.manual_seed(0)
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, pattern_highpass=5)
    path = str(tmp_path / 'gen.pth')
    save_generator(generator, path)
    assert read_generator_file(path)['meta']['pattern_highpass'] == 5
    loaded = load_generator(path)
    assert loaded.pattern_highpass == 5
    x, prompts = torch.rand(1, 3, 256, 256), Prompts(masks=_masks(1, 256))
    with torch.no_grad():
        pattern = loaded(x, prompts)
        assert torch.equal(pattern, generator.eval()(x, prompts))
        # the same decoder without the filter is another pattern, of which this is the high-pass
        generator.pattern_highpass = 0
        assert torch.allclose(pattern, highpass(generator(x, prompts), 5))
        save_generator(generator, path)
    assert 'pattern_highpass' not in read_generator_file(path)['meta']
    assert load_generator(path).pattern_highpass == 0
    with pytest.raises(ValueError, match='odd window'):
        UnSegGenerator(arch='tiny', pattern_highpass=4)


def test_release_layout_is_read_with_its_token_indexing(tmp_path, tiny_sam_file):
    """A full state dict with mask_decoder.noise_* keys (the Generator_unseg_final.pth layout)."""
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, legacy_token_slice=True)
    path = str(tmp_path / 'Generator_unseg_final.pth')
    torch.save({'module.' + k: v for k, v in generator.state_dict().items()}, path)
    loaded = load_generator(path)
    assert loaded.mask_decoder.legacy_token_slice
    x, prompts = torch.rand(1, 3, 256, 256), Prompts(masks=_masks(1, 256))
    with torch.no_grad():
        assert torch.equal(loaded(x, prompts), generator.eval()(x, prompts))
        modern = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file)
        modern.load_state_dict(generator.state_dict())
        assert not torch.equal(modern.eval()(x, prompts), loaded(x, prompts))


def test_legacy_slice_reads_last_mask_token_then_two_noise_tokens(tiny_sam_file):
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file,
                               legacy_token_slice=True).eval()
    decoder = generator.mask_decoder
    seen = {}
    original = decoder.run_transformer

    def spy(*args, **kwargs):
        hs, src = original(*args, **kwargs)
        seen['hs'] = hs
        return hs, src

    decoder.run_transformer = spy
    calls = []
    for i, mlp in enumerate(decoder.noise_mlp):
        mlp.register_forward_hook(lambda m, inp, out, i=i: calls.append((i, inp[0])))
    with torch.no_grad():
        generator(torch.rand(1, 3, 256, 256), Prompts(masks=_masks(1, 256)))
    n = decoder.num_mask_tokens  # hs = [iou, 4 mask tokens, 3 noise tokens, prompts]
    for i, inp in calls:
        assert torch.equal(inp, seen['hs'][:, n + i])


def test_surrogate_forward_and_mae_init(tmp_path):
    torch.manual_seed(0)
    surrogate = SAMSurrogate(arch='tiny', img_size=128, patch_size=8)
    out = surrogate(torch.rand(2, 3, 128, 128), Prompts(boxes=torch.tensor([[10., 10, 90, 90]] * 2)))
    assert out.shape == (2, 1, 64, 64)
    # An MAE-style ViT checkpoint (class token, 14 x 14 positions, fc1/fc2 MLP names).
    dim, depth = 128, 4
    mae = {'cls_token': torch.zeros(1, 1, dim), 'pos_embed': torch.randn(1, 1 + 14 * 14, dim),
           'patch_embed.proj.weight': torch.randn(dim, 3, 8, 8),
           'patch_embed.proj.bias': torch.randn(dim), 'norm.weight': torch.ones(dim)}
    for i in range(depth):
        p = f'blocks.{i}.'
        mae.update({p + 'norm1.weight': torch.randn(dim), p + 'norm1.bias': torch.randn(dim),
                    p + 'attn.qkv.weight': torch.randn(3 * dim, dim),
                    p + 'attn.qkv.bias': torch.randn(3 * dim),
                    p + 'attn.proj.weight': torch.randn(dim, dim),
                    p + 'attn.proj.bias': torch.randn(dim),
                    p + 'norm2.weight': torch.randn(dim), p + 'norm2.bias': torch.randn(dim),
                    p + 'mlp.fc1.weight': torch.randn(4 * dim, dim),
                    p + 'mlp.fc1.bias': torch.randn(4 * dim),
                    p + 'mlp.fc2.weight': torch.randn(dim, 4 * dim),
                    p + 'mlp.fc2.bias': torch.randn(dim)})
    path = tmp_path / 'mae.pth'
    torch.save({'model': mae}, path)
    init = SAMSurrogate(arch='tiny', img_size=128, patch_size=8, mae_checkpoint=str(path))
    own = init.state_dict()
    assert torch.equal(own['image_encoder.blocks.2.mlp.lin1.weight'], mae['blocks.2.mlp.fc1.weight'])
    assert own['image_encoder.pos_embed'].shape == (1, 16, 16, dim)
    converted = mae_to_sam_encoder(mae, 16)
    assert not any('cls_token' in k or k.endswith('norm.weight') for k in converted)


def test_checkpoint_conversions(tmp_path, tiny_sam_file, tiny_generator_file):
    """unseg_mm.apis.checkpoint's conversions (behind tools/convert_checkpoint.py)."""
    import os.path as osp
    import shutil

    from unseg_mm.apis.checkpoint import convert_release, rewrite_generator, sam_from_model
    x, prompts = torch.rand(1, 3, 256, 256), Prompts(masks=_masks(1, 256))
    # sam-from-model: the surrogate of a runner checkpoint -> the SAM file a generator freezes
    torch.manual_seed(3)
    surrogate = SAMSurrogate(arch='tiny')
    runner = str(tmp_path / 'epoch_1.pth')
    torch.save(dict(state_dict={'surrogate.' + k: v for k, v in surrogate.state_dict().items()},
                    meta=dict(epoch=1)), runner)
    sam = str(tmp_path / 'sam.pth')
    assert sam_from_model(runner, sam) == len(sam_state_dict_from(surrogate))
    assert UnSegGenerator(arch='tiny', sam_checkpoint=sam)  # loads strictly
    with pytest.raises(ValueError, match='no keys under'):
        sam_from_model(runner, str(tmp_path / 'x.pth'), prefix='segmentor.')
    # release layout -> self-contained file with the legacy token slice, same noise
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, legacy_token_slice=True)
    release = str(tmp_path / 'Generator_unseg_final.pth')
    torch.save(generator.state_dict(), release)
    mine = str(tmp_path / 'converted.pth')
    convert_release(release, mine)
    meta = read_generator_file(mine)['meta']
    assert meta['sam_checkpoint'] is None and meta['legacy_token_slice']
    with torch.no_grad():
        assert torch.equal(load_generator(mine)(x, prompts), generator.eval()(x, prompts))
    # generator: re-written next to a moved SAM file, referring to it relatively
    moved = tmp_path / 'moved'
    moved.mkdir()
    shutil.copy(tiny_sam_file, moved / 'sam_tiny.pth')
    out = str(moved / 'gen.pth')
    assert rewrite_generator(tiny_generator_file, out,
                             sam_checkpoint=str(moved / 'sam_tiny.pth')) == 'sam_tiny.pth'
    assert read_generator_file(out)['meta']['sam_checkpoint'] == 'sam_tiny.pth'
    with torch.no_grad():
        assert torch.equal(load_generator(out)(x, prompts),
                           load_generator(tiny_generator_file)(x, prompts))
    assert osp.isfile(out)
    # ... with a pattern gain: same weights, the gain recorded and applied
    gained = str(moved / 'gen_gain4.pth')
    rewrite_generator(out, gained, pattern_gain=4.0)
    assert read_generator_file(gained)['meta']['pattern_gain'] == 4.0
    assert load_generator(gained).pattern_gain == 4.0
    assert all(torch.equal(a, b) for a, b in zip(
        load_generator(gained).state_dict().values(), load_generator(out).state_dict().values()))
    with pytest.raises(ValueError, match='pattern_gain'):
        rewrite_generator(out, gained, pattern_gain=0.0)
    # ... with a publishing window: recorded, read back, the rest kept; absent where unset
    windowed = str(moved / 'gen_window.pth')
    rewrite_generator(gained, windowed, pattern_window=160)
    meta = read_generator_file(windowed)['meta']
    assert meta['pattern_window'] == 160 and meta['pattern_gain'] == 4.0
    assert load_generator(windowed).pattern_window == 160
    assert 'pattern_window' not in read_generator_file(gained)['meta']
    assert load_generator(gained).pattern_window == 0
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match='pattern_window'):
            rewrite_generator(out, windowed, pattern_window=bad)
    # the same content gives the same bytes (a file is not named after its temporary name)
    again = moved / 'again'
    again.mkdir()
    rewrite_generator(gained, str(again / 'gen_window.pth'), pattern_window=160,
                      sam_ref=meta['sam_checkpoint'])
    assert (again / 'gen_window.pth').read_bytes() == open(windowed, 'rb').read()


def test_pattern_gain_saturates_towards_a_square_wave_and_round_trips(tmp_path, tiny_sam_file):
    torch.manual_seed(0)
    plain = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, pattern_highpass=5)
    gained = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, pattern_highpass=5,
                            pattern_gain=4)
    gained.load_state_dict(plain.state_dict())
    x, prompts = torch.rand(1, 3, 256, 256), Prompts(masks=_masks(1, 256))
    with torch.no_grad():
        a, b = plain.eval()(x, prompts), gained.eval()(x, prompts)
    assert torch.equal(b, (a * 4).clamp(-1, 1))
    assert b.abs().mean() > a.abs().mean()
    path = str(tmp_path / 'gain.pth')
    save_generator(gained, path)
    assert read_generator_file(path)['meta']['pattern_gain'] == 4
    assert load_generator(path).pattern_gain == 4
    save_generator(plain, path)
    assert 'pattern_gain' not in read_generator_file(path)['meta']
    with pytest.raises(ValueError, match='pattern_gain'):
        UnSegGenerator(arch='tiny', pattern_gain=0.5)


def test_region_texture_is_a_trained_tile_per_region_and_round_trips(tmp_path, tiny_sam_file):
    torch.manual_seed(0)
    plain = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file).eval()
    textured = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, region_texture=4).eval()
    textured.load_state_dict(plain.state_dict(), strict=False)
    assert is_trainable_name('mask_decoder.noise_region_texture')
    assert textured.mask_decoder.noise_region_texture.requires_grad
    assert 'mask_decoder.noise_region_texture' in textured.trainable_state_dict()
    x, masks = torch.rand(2, 3, 256, 256), _masks(2, 256)
    prompts = Prompts(masks=masks)
    with torch.no_grad():
        with pytest.raises(ValueError, match='needs the object region'):
            textured(x, prompts)
        # zero tiles: the plain decoder's pattern
        assert torch.equal(textured(x, prompts, region=masks), plain(x, prompts))
        # one tile inside the region, the other outside, repeated every 4 pattern pixels
        tiles = torch.zeros(2, 3, 4, 4)
        tiles[0, :, :, :2], tiles[0, :, :, 2:] = 20, -20  # vertical stripes on the objects
        tiles[1, :, :2, :], tiles[1, :, 2:, :] = 20, -20  # horizontal ones elsewhere
        textured.mask_decoder.noise_region_texture.copy_(tiles)
        pattern = textured(x, prompts, region=masks)
    small = torch.nn.functional.interpolate(masks, size=pattern.shape[-2:], mode='area')
    stripes_v = tiles[0].repeat(1, 16, 16).sign()
    stripes_h = tiles[1].repeat(1, 16, 16).sign()
    inside, outside = small[0, 0] == 1, small[0, 0] == 0
    assert torch.equal(pattern[0][:, inside].sign(), stripes_v[:, inside])
    assert torch.equal(pattern[0][:, outside].sign(), stripes_h[:, outside])
    path = str(tmp_path / 'gen.pth')
    save_generator(textured, path)
    assert read_generator_file(path)['meta']['region_texture'] == 4
    loaded = load_generator(path)
    assert loaded.region_texture == 4
    with torch.no_grad():
        assert torch.equal(loaded(x, prompts, region=masks), pattern)
    assert 'region_texture' not in read_generator_file(_saved(plain, tmp_path))['meta']
    # zero-mean tiles: only texture, no cast; recorded, so a loaded file publishes the same
    centred = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, region_texture=4,
                             region_texture_zero_mean=True).eval()
    centred.load_state_dict(textured.state_dict())
    with torch.no_grad():
        centred.mask_decoder.noise_region_texture.add_(5.0)  # a cast the mean removes
        assert torch.equal(centred(x, prompts, region=masks), pattern)
    save_generator(centred, path)
    assert read_generator_file(path)['meta']['region_texture_zero_mean'] is True
    with torch.no_grad():
        assert torch.equal(load_generator(path)(x, prompts, region=masks), pattern)
    with pytest.raises(ValueError, match='region_texture must be >= 0'):
        UnSegGenerator(arch='tiny', region_texture=-1)


def _saved(generator, tmp_path):
    path = str(tmp_path / 'plain.pth')
    save_generator(generator, path)
    return path


def test_region_texture_shift_rolls_the_tiles_per_image_in_training_only():
    generator = UnSegGenerator(arch='tiny', region_texture=4, region_texture_shift=True)
    decoder = generator.mask_decoder
    with torch.no_grad():
        decoder.noise_region_texture.copy_(torch.randn(2, 3, 4, 4))
    region = torch.zeros(16, 1, 64, 64)
    region[:, :, :, :32] = 1  # objects on the left half
    generator.eval()
    fixed = decoder.texture(region, (16, 16))
    assert torch.equal(fixed[0], fixed[15])  # no shift when publishing
    tiles = decoder.noise_region_texture
    assert torch.equal(fixed[0, :, :4, :4], tiles[0]) and torch.equal(fixed[0, :, :4, 8:12],
                                                                       tiles[1])
    generator.train()
    torch.manual_seed(0)
    shifted = decoder.texture(region, (16, 16))
    offsets = set()
    ys, xs = torch.meshgrid(torch.arange(16), torch.arange(16), indexing='ij')
    inside = xs < 8

    def rolled(dy, dx):  # the tiles read from (y + dy, x + dx), object tile on the left
        return torch.where(inside, tiles[0][:, (ys + dy) % 4, (xs + dx) % 4],
                           tiles[1][:, (ys + dy) % 4, (xs + dx) % 4])

    assert torch.equal(fixed[0], rolled(0, 0))
    for image in shifted:  # each image: the same tiles, shifted by its own offset
        match = [(dy, dx) for dy in range(4) for dx in range(4)
                 if torch.equal(image, rolled(dy, dx))]
        assert len(match) == 1
        offsets |= set(match)
    assert len(offsets) > 1


def test_region_texture_rms_fixes_each_tiles_strength_and_round_trips(tmp_path, tiny_sam_file):
    torch.manual_seed(0)
    generator = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, region_texture=4,
                               region_texture_zero_mean=True, region_texture_rms=2.0).eval()
    decoder = generator.mask_decoder
    assert decoder.noise_region_texture.abs().sum() > 0  # random start: a direction to train
    region = torch.zeros(1, 1, 16, 16)
    region[..., :8] = 1
    for scale in (0.01, 1.0, 100.0):  # the strength of the raw tiles does not matter
        with torch.no_grad():
            decoder.noise_region_texture.mul_(scale)
        texture = decoder.texture(region, (16, 16))
        for part in (texture[0, :, :, :8], texture[0, :, :, 8:]):
            assert torch.allclose(part.pow(2).mean().sqrt(), torch.tensor(2.0), atol=1e-4)
            assert torch.allclose(part.mean(dim=(-2, -1)), torch.zeros(3), atol=1e-4)
    path = str(tmp_path / 'rms.pth')
    save_generator(generator, path)
    assert read_generator_file(path)['meta']['region_texture_rms'] == 2.0
    x, masks = torch.rand(1, 3, 256, 256), _masks(1, 256)
    with torch.no_grad():
        assert torch.equal(load_generator(path)(x, Prompts(masks=masks), region=masks),
                           generator(x, Prompts(masks=masks), region=masks))
    with pytest.raises(ValueError, match='region_texture_rms must be >= 0'):
        UnSegGenerator(arch='tiny', region_texture=4, region_texture_rms=-1.0)


def _texture_generator(sam_file, colour, **kwargs):
    """A tiny generator with zero-mean 4 x 4 region tiles at RMS 2 in ``colour``."""
    torch.manual_seed(0)
    return UnSegGenerator(arch='tiny', sam_checkpoint=sam_file, region_texture=4,
                          region_texture_zero_mean=True, region_texture_rms=2.0,
                          region_texture_colour=colour, **kwargs).eval()


def test_orthogonal_region_colours_split_the_tiles_by_colour_and_round_trip(tmp_path,
                                                                            tiny_sam_file):
    generator = _texture_generator(tiny_sam_file, 'orthogonal')
    decoder = generator.mask_decoder
    assert decoder.noise_region_texture.shape == (2, 1, 4, 4)  # one texture per region
    assert 'mask_decoder.noise_region_texture_colour' in generator.trainable_state_dict()
    with torch.no_grad():  # nearly the same raw directions: orthogonal all the same
        decoder.noise_region_texture_colour.copy_(torch.tensor([[1.0, 0.2, 0.0],
                                                                [1.0, 0.3, 0.1]]))
    colours = decoder.region_colours()
    assert torch.allclose(colours @ colours.T, torch.eye(2), atol=1e-5)
    region = torch.zeros(1, 1, 16, 16)
    region[..., :8] = 1
    texture = decoder.texture(region, (16, 16))
    for part, colour in ((texture[0, :, :, :8], colours[0]), (texture[0, :, :, 8:], colours[1])):
        pixels = part.reshape(3, -1)
        # rank one in colour: every pixel a multiple of the region's direction
        assert torch.allclose(pixels - torch.outer(colour, colour @ pixels),
                              torch.zeros_like(pixels), atol=1e-4)
        assert torch.allclose(part.pow(2).mean().sqrt(), torch.tensor(2.0), atol=1e-4)
    # the object texture has no energy along the rest's colour, and the reverse
    assert (colours[1] @ texture[0, :, :, :8].reshape(3, -1)).abs().max() < 1e-4
    assert (colours[0] @ texture[0, :, :, 8:].reshape(3, -1)).abs().max() < 1e-4
    path = str(tmp_path / 'orth.pth')
    save_generator(generator, path)
    assert read_generator_file(path)['meta']['region_texture_colour'] == 'orthogonal'
    x, masks = torch.rand(1, 3, 256, 256), _masks(1, 256)
    with torch.no_grad():
        assert torch.equal(load_generator(path)(x, Prompts(masks=masks), region=masks),
                           generator(x, Prompts(masks=masks), region=masks))
    free = UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file, region_texture=4)
    assert 'region_texture_colour' not in read_generator_file(_saved(free, tmp_path))['meta']
    with pytest.raises(ValueError, match='region_texture_colour must be one of'):
        UnSegGenerator(arch='tiny', region_texture=4, region_texture_colour='purple')


def test_grey_region_tiles_have_no_chroma_and_round_trip(tmp_path, tiny_sam_file):
    generator = _texture_generator(tiny_sam_file, 'grey')
    decoder = generator.mask_decoder
    assert decoder.noise_region_texture.shape == (2, 1, 4, 4)  # one texture per region
    assert not hasattr(decoder, 'noise_region_texture_colour')
    region = torch.zeros(1, 1, 16, 16)
    region[..., :8] = 1
    texture = decoder.texture(region, (16, 16))
    assert torch.equal(texture[:, 0], texture[:, 1]) and torch.equal(texture[:, 1], texture[:, 2])
    objects, rest = texture[0, :, :, :8], texture[0, :, :, 8:]
    for part in (objects, rest):  # full strength in every channel
        assert torch.allclose(part.pow(2).mean().sqrt(), torch.tensor(2.0), atol=1e-4)
    assert not torch.allclose(objects[..., :4], rest[..., :4])  # two textures, told apart
    x, masks = torch.rand(1, 3, 256, 256), _masks(1, 256)
    with torch.no_grad():
        noise = generator(x, Prompts(masks=masks), region=masks)
    path = str(tmp_path / 'grey.pth')
    save_generator(generator, path)
    assert read_generator_file(path)['meta']['region_texture_colour'] == 'grey'
    with torch.no_grad():
        assert torch.equal(load_generator(path)(x, Prompts(masks=masks), region=masks), noise)


def test_grey_rest_tile_is_grey_and_the_object_tile_has_no_grey_and_round_trip(tmp_path,
                                                                               tiny_sam_file):
    generator = _texture_generator(tiny_sam_file, 'grey_rest')
    decoder = generator.mask_decoder
    assert decoder.noise_region_texture.shape == (2, 1, 4, 4)  # one texture per region
    assert decoder.noise_region_texture_colour.shape == (1, 3)  # only the objects' is trained
    with torch.no_grad():  # a raw direction with luma: the object's keeps none of it
        decoder.noise_region_texture_colour.copy_(torch.tensor([[1.0, 0.9, 0.2]]))
    colours = decoder.region_colours()
    assert torch.allclose(colours @ colours.T, torch.eye(2), atol=1e-5)
    assert torch.allclose(colours[1], torch.full((3, ), 3 ** -0.5))
    region = torch.zeros(1, 1, 16, 16)
    region[..., :8] = 1
    texture = decoder.texture(region, (16, 16))
    objects, rest = texture[0, :, :, :8], texture[0, :, :, 8:]
    assert torch.equal(rest[0], rest[1]) and torch.equal(rest[1], rest[2])  # grey
    assert objects.sum(dim=0).abs().max() < 1e-4  # no grey: R + G + B = 0 at every pixel
    for part in (objects, rest):
        assert torch.allclose(part.pow(2).mean().sqrt(), torch.tensor(2.0), atol=1e-4)
    path = _saved(generator, tmp_path)
    assert read_generator_file(path)['meta']['region_texture_colour'] == 'grey_rest'
    x, masks = torch.rand(1, 3, 256, 256), _masks(1, 256)
    with torch.no_grad():
        assert torch.equal(load_generator(path)(x, Prompts(masks=masks), region=masks),
                           generator(x, Prompts(masks=masks), region=masks))


def test_image_logit_bound_keeps_the_image_part_under_the_tiles_and_round_trips(tmp_path,
                                                                               tiny_sam_file):
    generator = _texture_generator(tiny_sam_file, 'grey', image_logit_bound=0.5)
    decoder = generator.mask_decoder
    with torch.no_grad():  # a loud image-dependent part, as the min-min grew it unbounded
        for mlp in decoder.noise_mlp:
            mlp.layers[-1].weight.mul_(100)
    x, masks = torch.rand(1, 3, 256, 256), _masks(1, 256)
    texture = decoder.texture(masks, (64, 64))

    def image_part():
        with torch.no_grad():
            pattern = generator(x, Prompts(masks=masks), region=masks).double()
        return torch.atanh(pattern.clamp(-1 + 1e-6, 1 - 1e-6)) - texture

    bounded = image_part()
    assert bounded.abs().max() <= 0.5 + 1e-2
    # what the training log reports as image_logit_rms: this image part's RMS
    assert float(decoder.image_logit_rms) == pytest.approx(float(bounded.pow(2).mean().sqrt()),
                                                           rel=1e-3)
    assert bounded.abs().max() > 0.4  # the bound is reached: the test's image part is loud
    path = str(tmp_path / 'bound.pth')
    save_generator(generator, path)
    assert read_generator_file(path)['meta']['image_logit_bound'] == 0.5
    with torch.no_grad():
        assert torch.equal(load_generator(path)(x, Prompts(masks=masks), region=masks),
                           generator(x, Prompts(masks=masks), region=masks))
    decoder.image_logit_bound = 0.0  # unbounded, the same weights drown the tiles
    assert image_part().abs().max() > 5
    assert float(decoder.image_logit_rms) > 2.0  # louder than the tiles (RMS 2)
    with pytest.raises(ValueError, match='set region_texture too'):
        UnSegGenerator(arch='tiny', image_logit_bound=1.0)
    with pytest.raises(ValueError, match='image_logit_bound must be >= 0'):
        UnSegGenerator(arch='tiny', region_texture=4, image_logit_bound=-1.0)


def test_fixed_region_colours_are_set_checked_and_saved_with_the_weights(tmp_path, tiny_sam_file):
    trained = _texture_generator(tiny_sam_file, 'orthogonal')
    fixed = _texture_generator(tiny_sam_file, 'orthogonal',
                               region_texture_colour_fixed=[[0, 2, 2], [1, 1, 0]])
    # the same draws as without it: only the directions differ
    assert torch.equal(fixed.mask_decoder.noise_region_texture,
                       trained.mask_decoder.noise_region_texture)
    colours = fixed.mask_decoder.region_colours()
    half, sixth = 2 ** -0.5, 6 ** -0.5  # normalised; the rest's made orthogonal to the objects'
    assert torch.allclose(colours, torch.tensor([[0, half, half], [2 * sixth, sixth, -sixth]]),
                          atol=1e-6)
    assert not fixed.mask_decoder.noise_region_texture_colour.requires_grad
    path = _saved(fixed, tmp_path)  # the directions travel as weights: no setting to record
    assert torch.allclose(load_generator(path).mask_decoder.region_colours(), colours)
    for bad, match in (([[1, 0, 0]], 'two RGB directions'),
                       ([[1, 0, 0], [2, 0, 0]], 'not parallel'),
                       ([[0, 0, 0], [1, 0, 0]], 'not parallel')):
        with pytest.raises(ValueError, match=match):
            _texture_generator(tiny_sam_file, 'orthogonal', region_texture_colour_fixed=bad)
    with pytest.raises(ValueError, match="region_texture_colour='orthogonal'"):
        _texture_generator(tiny_sam_file, 'grey', region_texture_colour_fixed=[[0, 1, 1],
                                                                              [1, 0, 0]])


def test_inspect_generator_reads_the_tiles_colour_split_from_a_file(tmp_path, tiny_sam_file):
    import subprocess
    import sys
    fixed = _texture_generator(tiny_sam_file, 'orthogonal',
                               region_texture_colour_fixed=[[0, 1, 1], [1, 0, 0]])
    split = str(tmp_path / 'split.pth')
    save_generator(fixed, split, surrogate_val=dict(epoch=20, iter=2560, mIoU=90.9))
    plain = _saved(UnSegGenerator(arch='tiny', sam_checkpoint=tiny_sam_file), tmp_path)
    tool = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                    'inspect_generator.py')
    out = subprocess.run([sys.executable, tool, split, plain], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    rows = {line.split(' | ')[0].strip('| '): line for line in out.splitlines()[2:]}
    assert 'region_texture_colour=orthogonal; surrogate val mIoU 90.90 (epoch 20)' \
        in rows['split.pth']
    assert '(+0.00, +0.71, +0.71): R 0%, G 50%, B 50% | (+1.00, +0.00, +0.00): R 100%, G 0%, ' \
           'B 0% |' in rows['split.pth']
    assert rows['plain.pth'].endswith('| arch=tiny | - | - |')
