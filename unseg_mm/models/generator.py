"""UnSegGenerator: SAM (frozen) + a trainable noise decoder, one forward pass per image."""
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import nn

from .noise_decoder import NoiseMaskDecoder
from .prompts import Prompts, encode_prompts
from .sam_builder import (build_image_encoder, build_prompt_encoder, build_two_way_transformer,
                          check_shapes, get_arch, load_state_dict_file)

# UnSeg normalises [0, 1] RGB inputs with ImageNet statistics (not SAM's 0-255 constants).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SAM_PREFIXES = ('image_encoder.', 'prompt_encoder.', 'mask_decoder.')


def is_trainable_name(name: str) -> bool:
    """The generator's trainable parameters are exactly the noise decoder's new ones."""
    return 'noise' in name


@MODELS.register_module()
class UnSegGenerator(BaseModule):
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
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pattern_highpass < 0 or (pattern_highpass and pattern_highpass % 2 == 0):
            raise ValueError(f'pattern_highpass must be 0 or an odd window size, '
                             f'got {pattern_highpass}')
        self.pattern_highpass = int(pattern_highpass)
        if not pattern_gain >= 1.0:
            raise ValueError(f'pattern_gain must be >= 1, got {pattern_gain}')
        self.pattern_gain = float(pattern_gain)
        self.arch = arch
        cfg = get_arch(arch)
        self.img_size = cfg['img_size']
        self.mask_prompt_value = mask_prompt_value
        self.image_encoder = build_image_encoder(cfg)
        self.prompt_encoder = build_prompt_encoder(cfg)
        self.mask_decoder = NoiseMaskDecoder(
            transformer_dim=cfg['prompt_embed_dim'],
            transformer=build_two_way_transformer(cfg),
            vit_dim=cfg['embed_dim'],
            iou_head_hidden_dim=cfg['iou_head_hidden_dim'],
            legacy_token_slice=legacy_token_slice)
        self.register_buffer('pixel_mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer('pixel_std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.sam_checkpoint = sam_checkpoint
        if sam_checkpoint is not None:
            self.load_sam_weights(sam_checkpoint)
        for name, param in self.named_parameters():
            param.requires_grad = is_trainable_name(name)
        # Training checkpoints need not repeat the frozen SAM weights: they come from
        # ``sam_checkpoint`` when the model is rebuilt (UnSegBilevel switches this off).
        self.save_frozen_weights = True
        self.register_state_dict_post_hook(_drop_frozen_weights)

    def init_weights(self) -> None:
        # SAM parts come from the checkpoint or keep their constructors' initialisation; the noise
        # decoder initialises itself (xavier). Nothing for mmengine's initialiser to do.
        pass

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

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.pixel_mean) / self.pixel_std

    def forward(self, images: torch.Tensor, prompts: Prompts) -> torch.Tensor:
        """Perturbation patterns for ``images`` (B x 3 x S x S in [0, 1]) given ``prompts``.

        Returns:
            B x 3 x S/4 x S/4 tensor in [-1, 1], RGB order, to be upsampled to the image size and
            scaled by the per-region budget (see ``unseg_mm.apis.protect``).
        """
        if images.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f'generator {self.arch} takes {self.img_size}x{self.img_size} inputs, '
                             f'got {tuple(images.shape[-2:])}; resize and pad first')
        if prompts.batch_size != images.shape[0]:
            raise ValueError(f'{prompts.batch_size} prompt sets for {images.shape[0]} images')
        embeddings, early = self.image_encoder.forward_with_features(self.normalize(images))
        sparse, dense = encode_prompts(self.prompt_encoder, prompts, self.mask_prompt_value)
        pattern = self.mask_decoder.predict_noise(embeddings, early,
                                                  self.prompt_encoder.get_dense_pe(), sparse,
                                                  dense)
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
