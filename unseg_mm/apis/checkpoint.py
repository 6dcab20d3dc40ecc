"""Generator checkpoints: save only the trained noise decoder plus where its frozen SAM came from.

File layout (``torch.save`` of plain data, read back with ``weights_only=True``)::

    {'format': 'unseg_mm.generator/v1',
     'meta': {'arch', 'sam_checkpoint', 'sam_sha256', 'legacy_token_slice', 'mask_prompt_value',
              'pattern_highpass', 'pattern_gain', 'pattern_window', 'region_texture',
              'region_texture_zero_mean', 'region_texture_rms', 'region_texture_colour',
              'image_logit_bound', 'train_eps_object',
              'train_eps_background', ...},
     'state_dict': {noise-decoder tensors (and, for self-contained files, the SAM tensors)}}

Also read: the UnSeg release's ``Generator_unseg_final.pth`` (a full state dict of SAM ViT-B plus
``mask_decoder.noise_*``), which runs with the release's token indexing (``legacy_token_slice``).
"""
import io
import os.path as osp
from typing import Dict, Optional

import torch
from torch import nn

from ..models.generator import (SAM_PREFIXES, UnSegGenerator, checked_pattern_window,
                                is_trainable_name)
from ..models.sam_builder import check_shapes, infer_arch
from .fileio import atomic_write, file_sha256, load_state_dict_file

FORMAT = 'unseg_mm.generator/v1'
# The generator this repository bundles (relative to its root; recipe in checkpoints/README.md):
# what `make quickstart`, the mini configs' UnSegProtect and the mini benchmark's `unseg` publish
# with. Trained for the synthetic mini world only: real datasets need a generator trained on real
# images (configs/unseg/unseg_generator_vitb_hqseg44k.py) or the official release.
# mmengine configs cannot import it: benchmarks/suites/mini.py (`generator`) and
# configs/mini/_base_/bundled_unseg_protect.py repeat the path (tests/test_benchmarks.py pins them).
BUNDLED_GENERATOR = ('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                     'texture-lr30-shift-rms2-orth-seed2-gain4-window160.pth')
META_KEYS = ('arch', 'sam_checkpoint', 'sam_sha256', 'legacy_token_slice', 'mask_prompt_value',
             'pattern_highpass', 'pattern_gain', 'pattern_window', 'region_texture',
             'region_texture_zero_mean', 'region_texture_rms', 'region_texture_colour',
             'image_logit_bound')


def sam_state_dict_from(model: nn.Module) -> Dict[str, torch.Tensor]:
    """SAM-layout state dict (image_encoder./prompt_encoder./mask_decoder.) of a SAM-like model."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()
            if k.startswith(SAM_PREFIXES) and not is_trainable_name(k)}


def resolve_relative(path: Optional[str], base_file: str) -> Optional[str]:
    """Locate ``path`` recorded in ``base_file``: relative to its folder first, then as given."""
    if path is None or osp.isabs(path):
        return path
    beside = osp.join(osp.dirname(osp.abspath(base_file)), path)
    return beside if osp.exists(beside) else path


def atomic_torch_save(obj, path: str) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``.

    Saved through memory: a file ``torch.save`` writes itself names its archive after that
    (random) temporary file, so the same content would never give the same bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


def generator_meta(generator: UnSegGenerator, sam_checkpoint_ref: Optional[str] = None,
                   **extra) -> dict:
    """Metadata that lets :func:`load_generator` rebuild ``generator``."""
    sam = generator.sam_checkpoint
    meta = dict(arch=generator.arch,
                sam_checkpoint=sam_checkpoint_ref if sam_checkpoint_ref is not None else sam,
                sam_sha256=file_sha256(sam) if sam and osp.isfile(sam) else None,
                legacy_token_slice=generator.mask_decoder.legacy_token_slice,
                mask_prompt_value=float(generator.mask_prompt_value))
    if generator.pattern_highpass:  # absent from files of generators without it (all before it)
        meta['pattern_highpass'] = generator.pattern_highpass
    if generator.pattern_gain != 1.0:  # likewise only where set
        meta['pattern_gain'] = generator.pattern_gain
    if generator.pattern_window:  # likewise
        meta['pattern_window'] = generator.pattern_window
    if generator.region_texture:  # likewise
        meta['region_texture'] = generator.region_texture
        if generator.mask_decoder.region_texture_zero_mean:
            meta['region_texture_zero_mean'] = True
        if generator.mask_decoder.region_texture_rms:
            meta['region_texture_rms'] = generator.mask_decoder.region_texture_rms
        if generator.mask_decoder.region_texture_colour != 'free':
            meta['region_texture_colour'] = generator.mask_decoder.region_texture_colour
        if generator.mask_decoder.image_logit_bound:
            meta['image_logit_bound'] = generator.mask_decoder.image_logit_bound
    meta.update(extra)
    return meta


def save_generator(generator: UnSegGenerator, path: str, self_contained: bool = False,
                   sam_checkpoint_ref: Optional[str] = None, **extra_meta) -> None:
    """Write ``generator`` to ``path``.

    Args:
        self_contained: also store the frozen SAM weights (no SAM file needed to load it).
        sam_checkpoint_ref: how to refer to the SAM file in the metadata (e.g. a path relative to
            ``path``); default: the path the generator was built from.
        extra_meta: plain values recorded with it (training budgets, config name, ...).
    """
    state = generator.state_dict() if self_contained else generator.trainable_state_dict()
    meta = generator_meta(generator, sam_checkpoint_ref, **extra_meta)
    if self_contained:
        meta['sam_checkpoint'] = None
    atomic_torch_save(
        dict(format=FORMAT, meta=meta,
             state_dict={k: v.detach().cpu().contiguous() for k, v in state.items()}), path)


def read_generator_file(path: str) -> Dict:
    """``{'meta': ..., 'state_dict': ...}`` of a generator file, in our format or the release's."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'generator checkpoint {path!r} does not exist')
    raw = torch.load(path, map_location='cpu', weights_only=True) \
        if not path.endswith('.safetensors') else None
    if isinstance(raw, dict) and raw.get('format') == FORMAT:
        return dict(meta=dict(raw['meta']), state_dict=raw['state_dict'])
    state = load_state_dict_file(path)
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    if 'mask_decoder.noise_token.weight' not in state:
        raise ValueError(f'{path!r} is not a generator checkpoint: it has no '
                         f'mask_decoder.noise_token.weight (a SAM checkpoint goes to '
                         f'sam_checkpoint=..., a generator file to checkpoint=...)')
    arch = infer_arch(state)
    if arch is None:
        raise ValueError(f'{path!r} holds a generator of an unknown architecture')
    # The release stores SAM and the noise decoder together and slices tokens its own way.
    meta = dict(arch=arch, sam_checkpoint=None, sam_sha256=None, legacy_token_slice=True,
                mask_prompt_value=255.0, source='UnSeg release layout')
    return dict(meta=meta, state_dict=state)


def load_generator(path: str, sam_checkpoint: Optional[str] = None,
                   device: str = 'cpu', verify_sam: bool = True) -> UnSegGenerator:
    """Build an :class:`UnSegGenerator` from a generator file, in eval mode on ``device``.

    Args:
        path: generator checkpoint (ours, or the UnSeg release layout).
        sam_checkpoint: SAM weights for the frozen parts; default: the file recorded in the
            checkpoint (a relative path is taken relative to the checkpoint's folder). Not needed
            for self-contained files.
        verify_sam: check the SAM file's SHA-256 against the recorded one.
    """
    content = read_generator_file(path)
    meta, state = content['meta'], content['state_dict']
    has_sam = any(k.startswith(SAM_PREFIXES) and not is_trainable_name(k) for k in state)
    sam_path = None
    if not has_sam:
        sam_path = sam_checkpoint or resolve_relative(meta.get('sam_checkpoint'), path)
        if sam_path is None:
            raise ValueError(f'generator {path!r} stores only its noise decoder; pass the SAM '
                             f'checkpoint it was trained on (sam_checkpoint=...)')
        if not osp.isfile(sam_path):
            raise FileNotFoundError(f'SAM checkpoint {sam_path!r} needed by generator {path!r} '
                                    f'does not exist; pass sam_checkpoint=...')
    # Building checks the SAM file against the architecture first (the clearer message).
    generator = UnSegGenerator(arch=meta['arch'], sam_checkpoint=sam_path,
                               legacy_token_slice=bool(meta.get('legacy_token_slice', False)),
                               mask_prompt_value=float(meta.get('mask_prompt_value', 255.0)),
                               pattern_highpass=int(meta.get('pattern_highpass', 0)),
                               pattern_gain=float(meta.get('pattern_gain', 1.0)),
                               pattern_window=int(meta.get('pattern_window', 0)),
                               region_texture=int(meta.get('region_texture', 0)),
                               region_texture_zero_mean=bool(
                                   meta.get('region_texture_zero_mean', False)),
                               region_texture_rms=float(meta.get('region_texture_rms', 0.0)),
                               region_texture_colour=str(
                                   meta.get('region_texture_colour', 'free')),
                               image_logit_bound=float(meta.get('image_logit_bound', 0.0)))
    expected = meta.get('sam_sha256')
    if sam_path is not None and verify_sam and expected and file_sha256(sam_path) != expected:
        raise ValueError(f'SAM checkpoint {sam_path!r} is not the one generator {path!r} was '
                         f'trained on (SHA-256 differs); pass the right file or verify_sam=False')
    missing = check_shapes(generator, state, path)
    missing = [k for k in missing if is_trainable_name(k)]
    if missing:
        raise ValueError(f'generator {path!r} lacks noise-decoder weights, e.g. {missing[:3]}')
    generator.load_state_dict(state, strict=False)
    generator.checkpoint_meta = meta
    return generator.to(device).eval()


# -- conversions (tools/convert_checkpoint.py) -----------------------------------------------------
MODEL_PREFIXES = ('segmentor.', 'surrogate.')


def sam_from_model(src: str, dst: str, prefix: Optional[str] = None) -> int:
    """SAM-layout weights (``image_encoder.``/``prompt_encoder.``/``mask_decoder.``) from a runner
    checkpoint of a SAM-architecture model (``InteractiveSegmentor``, ``UnSegBilevel``'s
    surrogate): the file a generator freezes. Returns the number of tensors written."""
    state = load_state_dict_file(src)
    prefixes = (prefix, ) if prefix else MODEL_PREFIXES
    for p in prefixes:
        sub = {k[len(p):]: v for k, v in state.items() if k.startswith(p)}
        if sub:
            break
    else:
        raise ValueError(f'{src!r} has no keys under {prefixes}; pass --prefix')
    sam = {k: v for k, v in sub.items() if k.startswith(SAM_PREFIXES)}
    if not sam:
        raise ValueError(f'{src!r} holds no SAM-architecture weights under {p!r}')
    atomic_torch_save({k: v.contiguous() for k, v in sam.items()}, dst)
    return len(sam)


def convert_release(src: str, dst: str) -> UnSegGenerator:
    """The UnSeg release's generator file (``Generator_unseg_final.pth``: SAM ViT-B and the noise
    decoder in one state dict) -> a self-contained unseg_mm generator file that runs with the
    release's token indexing. Returns the loaded generator."""
    generator = load_generator(src)
    save_generator(generator, dst, self_contained=True, source=osp.basename(src))
    return generator


def rewrite_generator(src: str, dst: str, sam_checkpoint: Optional[str] = None,
                      sam_ref: Optional[str] = None,
                      pattern_gain: Optional[float] = None,
                      pattern_window: Optional[int] = None) -> Optional[str]:
    """Re-write a generator file, e.g. to refer to its SAM file relative to a new folder.

    Args:
        sam_checkpoint: SAM weights of the generator (default: the recorded file).
        sam_ref: how the new file refers to its SAM file (default: the SAM path relative to
            ``dst``'s folder).
        pattern_gain: set the decoder's pattern gain (its pattern times this, then clipped to
            the budget; same weights); default: keep the recorded one.
        pattern_window: set the window side the generator is published with by default
            (:class:`UnSegGenerator`'s ``pattern_window``; 0: the whole image); default: keep the
            recorded one.

    Returns the SAM reference written (None for a self-contained file).
    """
    generator = load_generator(src, sam_checkpoint=sam_checkpoint)
    if pattern_gain is not None:
        if not pattern_gain > 0:
            raise ValueError(f'pattern_gain must be > 0, got {pattern_gain}')
        generator.pattern_gain = float(pattern_gain)
    if pattern_window is not None:
        generator.pattern_window = checked_pattern_window(pattern_window)
    meta = dict(generator.checkpoint_meta)
    if sam_ref is None and generator.sam_checkpoint:
        sam_ref = osp.relpath(osp.abspath(generator.sam_checkpoint), osp.dirname(osp.abspath(dst)))
    extra = {k: v for k, v in meta.items() if k not in META_KEYS}
    save_generator(generator, dst, sam_checkpoint_ref=sam_ref, **extra)
    return sam_ref
