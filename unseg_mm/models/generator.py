"""UnSegGenerator: SAM (frozen) + a trainable noise decoder, one forward pass per image."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

from ..apis.fileio import load_state_dict_file
from .noise_decoder import NoiseMaskDecoder
from .prompts import Prompts
from .sam_builder import SAMBase, build_two_way_transformer, check_shapes

SAM_PREFIXES = ('image_encoder.', 'prompt_encoder.', 'mask_decoder.')


def is_trainable_name(name: str) -> bool:
    """The generator's trainable parameters are exactly the noise decoder's new ones."""
    return 'noise' in name


def checked_pattern_window(value) -> int:
    """A generator's publishing window: 0 (the whole image) or a window side in pixels."""
    if value < 0 or int(value) != value:
        raise ValueError(f'pattern_window must be 0 (the whole image) or a window side in '
                         f'pixels, got {value!r}')
    return int(value)


@MODELS.register_module()
class UnSegGenerator(SAMBase):
    """Promptable perturbation generator fine-tuned from SAM.

    Args:
        arch: SAM architecture name (``vit_b`` or ``tiny``, see ``SAM_ARCHS``).
        sam_checkpoint: SAM weights (``sam_vit_b_01ec64.pth`` layout: ``image_encoder.*``,
            ``prompt_encoder.*``, ``mask_decoder.*``) for the frozen parts. Without one the
            frozen parts keep their random initialisation (only useful in tests).
        legacy_token_slice: see :class:`NoiseMaskDecoder`.
        mask_prompt_value: value a mask prompt's foreground is fed to SAM's prompt encoder with
            (255, UnSeg's convention).
        pattern_highpass: 0 (UnSeg's decoder output as it is) or an odd window, in pattern
            pixels: the pattern minus its local mean over that window, clipped to [-1, 1]. A flat
            colour cast then carries no budget; only structure finer than the window does.
        pattern_gain: 1 (as decoded) or a factor the pattern is multiplied by before clipping to
            [-1, 1]: above 1, the pattern moves towards a full-budget square wave (every pixel at
            +-budget) without changing its signs.
        pattern_window: publishing default, not used by :meth:`forward`: 0 (the whole image is
            one frame, as the reference) or the side, in image pixels, of the windows the
            protection code lets this generator see by default (``ProtectConfig.pattern_window``
            left unset): the side of the scenes it was trained on, so that its pattern keeps the
            scale in image pixels it was trained at on larger images.
        region_texture: see :class:`NoiseMaskDecoder` (0: off). With it, :meth:`forward` needs
            the object region (``region=``), which the protection code passes.
        region_texture_shift: see :class:`NoiseMaskDecoder` (training only).
        region_texture_zero_mean: see :class:`NoiseMaskDecoder`.
        region_texture_rms: see :class:`NoiseMaskDecoder`.
        region_texture_colour: see :class:`NoiseMaskDecoder` (``'free'``, ``'orthogonal'``,
            ``'grey'`` or ``'grey_rest'``).
        region_texture_colour_fixed: see :class:`NoiseMaskDecoder` (training only: the
            directions are saved with the weights).
        image_logit_bound: see :class:`NoiseMaskDecoder`.

    Input: RGB images in [0, 1], B x 3 x S x S, S = the architecture's ``img_size``, padded at the
    bottom/right with 0 (black) when not square. Output: B x 3 x S/4 x S/4 in [-1, 1].
    """

    def __init__(self,
                 arch: str = 'vit_b',
                 sam_checkpoint: Optional[str] = None,
                 legacy_token_slice: bool = False,
                 mask_prompt_value: float = 255.0,
                 pattern_highpass: int = 0,
                 pattern_gain: float = 1.0,
                 pattern_window: int = 0,
                 region_texture: int = 0,
                 region_texture_shift: bool = False,
                 region_texture_zero_mean: bool = False,
                 region_texture_rms: float = 0.0,
                 region_texture_colour: str = 'free',
                 region_texture_colour_fixed: Optional[Sequence[Sequence[float]]] = None,
                 image_logit_bound: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(arch, mask_prompt_value, init_cfg)
        if pattern_highpass < 0 or (pattern_highpass and pattern_highpass % 2 == 0):
            raise ValueError(f'pattern_highpass must be 0 or an odd window size, '
                             f'got {pattern_highpass}')
        self.pattern_highpass = int(pattern_highpass)
        if not pattern_gain >= 1.0:
            raise ValueError(f'pattern_gain must be >= 1, got {pattern_gain}')
        self.pattern_gain = float(pattern_gain)
        self.pattern_window = checked_pattern_window(pattern_window)
        cfg = self.arch_cfg
        self.mask_decoder = NoiseMaskDecoder(
            transformer_dim=cfg['prompt_embed_dim'],
            transformer=build_two_way_transformer(cfg),
            vit_dim=cfg['embed_dim'],
            iou_head_hidden_dim=cfg['iou_head_hidden_dim'],
            legacy_token_slice=legacy_token_slice,
            region_texture=region_texture,
            region_texture_shift=region_texture_shift,
            region_texture_zero_mean=region_texture_zero_mean,
            region_texture_rms=region_texture_rms,
            region_texture_colour=region_texture_colour,
            region_texture_colour_fixed=region_texture_colour_fixed,
            image_logit_bound=image_logit_bound)
        self.sam_checkpoint = sam_checkpoint
        if sam_checkpoint is not None:
            self.load_sam_weights(sam_checkpoint)
        for name, param in self.named_parameters():
            param.requires_grad = is_trainable_name(name)
        if self.mask_decoder.region_texture_colour_fixed:
            self.mask_decoder.noise_region_texture_colour.requires_grad = False
        # Training checkpoints need not repeat the frozen SAM weights: they come from
        # ``sam_checkpoint`` when the model is rebuilt (UnSegBilevel switches this off).
        self.save_frozen_weights = True
        self.register_state_dict_post_hook(_drop_frozen_weights)

    def load_sam_weights(self, path: str) -> None:
        """Load the frozen SAM parts from a SAM checkpoint (strict apart from ``noise`` keys)."""
        state = load_state_dict_file(path)
        state = {k: v for k, v in state.items() if k.startswith(SAM_PREFIXES)}
        if not state:
            raise ValueError(f'{path!r} has no image_encoder./prompt_encoder./mask_decoder. keys; '
                             f'is it a SAM checkpoint (sam_vit_b_01ec64.pth layout)?')
        missing = check_shapes(self, state, path)
        missing = [k for k in missing if not is_trainable_name(k)]
        if missing:
            raise ValueError(f'SAM checkpoint {path!r} lacks {len(missing)} weights of the '
                             f'{self.arch} architecture, e.g. {missing[:3]}')
        self.load_state_dict(state, strict=False)

    def trainable_state_dict(self) -> Dict[str, torch.Tensor]:
        """Only the trained noise-decoder weights (what a generator checkpoint stores)."""
        return {k: v for k, v in self.state_dict().items() if is_trainable_name(k)}

    @property
    def region_texture(self) -> int:
        return self.mask_decoder.region_texture

    def forward(self, images: torch.Tensor, prompts: Prompts,
                region: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Perturbation patterns for ``images`` (B x 3 x S x S in [0, 1]) given ``prompts``
        (``region``: B x 1 x S x S union of the prompted objects, for ``region_texture``).

        Returns:
            B x 3 x S/4 x S/4 tensor in [-1, 1], RGB order, to be upsampled to the image size and
            scaled by the per-region budget (see ``unseg_mm.apis.protect``).
        """
        self.check_inputs(images, prompts, f'generator {self.arch}')
        embeddings, early = self.image_encoder.forward_with_features(self.normalize(images))
        sparse, dense, dense_pe = self.encode_prompts(prompts)
        pattern = self.mask_decoder.predict_noise(embeddings, early, dense_pe, sparse, dense,
                                                  region=region)
        if self.pattern_highpass:
            pattern = highpass(pattern, self.pattern_highpass)
        if self.pattern_gain != 1.0:
            pattern = (pattern * self.pattern_gain).clamp(-1, 1)
        return pattern


def highpass(pattern: torch.Tensor, window: int) -> torch.Tensor:
    """``pattern`` (B x C x H x W in [-1, 1]) minus its mean over ``window`` x ``window``
    neighbourhoods (reflected at the border), clipped to [-1, 1]."""
    pad = window // 2
    local = F.avg_pool2d(F.pad(pattern, (pad, pad, pad, pad), mode='reflect'), window, stride=1)
    return (pattern - local).clamp(-1, 1)


def _drop_frozen_weights(module: UnSegGenerator, state_dict: dict, prefix: str,
                         local_metadata: dict) -> None:
    if module.save_frozen_weights:
        return
    for key in [k for k in state_dict
                if k.startswith(prefix) and not is_trainable_name(k[len(prefix):])]:
        del state_dict[key]
