"""SAM-architecture building blocks from ``segment_anything.modeling``, at two sizes.

``vit_b`` is SAM ViT-B exactly as ``segment_anything.build_sam_vit_b`` builds it (1024 px input,
16 px patches, 64 x 64 x 256 image embedding), so its weights load from ``sam_vit_b_01ec64.pth``.
``tiny`` is the same architecture shrunk to train on a CPU in minutes. :class:`SAMBase` is what
the generator and the surrogate share: the image and prompt encoders, the input normalisation and
the input checks.
"""
from functools import partial
from typing import Dict, List, Optional, Tuple

import torch
from segment_anything.modeling import ImageEncoderViT, PromptEncoder, TwoWayTransformer
from segment_anything.modeling.common import LayerNorm2d  # noqa: F401  (re-exported)
from mmengine.model import BaseModule
from torch import nn

from .prompts import Prompts, encode_prompts

# UnSeg normalises [0, 1] RGB inputs with ImageNet statistics (not SAM's 0-255 constants).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

SAM_ARCHS: Dict[str, dict] = {
    'vit_b': dict(
        img_size=1024,
        patch_size=16,
        embed_dim=768,
        depth=12,
        num_heads=12,
        global_attn_indexes=(2, 5, 8, 11),
        window_size=14,
        prompt_embed_dim=256,
        mask_in_chans=16,
        decoder_depth=2,
        decoder_mlp_dim=2048,
        decoder_num_heads=8,
        iou_head_hidden_dim=256),
    'tiny': dict(
        img_size=256,
        patch_size=16,
        embed_dim=128,
        depth=4,
        num_heads=4,
        global_attn_indexes=(1, 3),
        window_size=8,
        prompt_embed_dim=64,
        mask_in_chans=8,
        decoder_depth=2,
        decoder_mlp_dim=256,
        decoder_num_heads=4,
        iou_head_hidden_dim=64),
}


def get_arch(arch: str, **overrides) -> dict:
    """Architecture settings of ``arch`` with ``overrides`` (e.g. ``img_size``) applied."""
    if arch not in SAM_ARCHS:
        raise KeyError(f'unknown SAM architecture {arch!r}; choose from {sorted(SAM_ARCHS)}')
    cfg = dict(SAM_ARCHS[arch])
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise KeyError(f'unknown architecture settings {sorted(unknown)}')
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    if cfg['img_size'] % cfg['patch_size']:
        raise ValueError(f'img_size {cfg["img_size"]} is not a multiple of patch_size '
                         f'{cfg["patch_size"]}')
    return cfg


class ImageEncoderWithFeatures(ImageEncoderViT):
    """SAM's ViT image encoder that can also return the output of its first global-attention block.

    The early feature is what SAM-HQ (and UnSeg's noise decoder) fuse with the final embedding.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.early_feature_index = min(i for i, blk in enumerate(self.blocks)
                                       if blk.window_size == 0)

    def forward_with_features(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x: B x 3 x S x S (normalised) -> (B x C x S/p x S/p embedding, B x D x S/p x S/p)."""
        x = self.patch_embed(x)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        early = None
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i == self.early_feature_index:
                early = x
        return self.neck(x.permute(0, 3, 1, 2)), early.permute(0, 3, 1, 2)


def build_image_encoder(cfg: dict) -> ImageEncoderWithFeatures:
    return ImageEncoderWithFeatures(
        depth=cfg['depth'],
        embed_dim=cfg['embed_dim'],
        img_size=cfg['img_size'],
        mlp_ratio=4,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        num_heads=cfg['num_heads'],
        patch_size=cfg['patch_size'],
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=tuple(cfg['global_attn_indexes']),
        window_size=cfg['window_size'],
        out_chans=cfg['prompt_embed_dim'])


def build_prompt_encoder(cfg: dict) -> PromptEncoder:
    grid = cfg['img_size'] // cfg['patch_size']
    return PromptEncoder(
        embed_dim=cfg['prompt_embed_dim'],
        image_embedding_size=(grid, grid),
        input_image_size=(cfg['img_size'], cfg['img_size']),
        mask_in_chans=cfg['mask_in_chans'])


def build_two_way_transformer(cfg: dict) -> TwoWayTransformer:
    return TwoWayTransformer(
        depth=cfg['decoder_depth'],
        embedding_dim=cfg['prompt_embed_dim'],
        mlp_dim=cfg['decoder_mlp_dim'],
        num_heads=cfg['decoder_num_heads'])


def check_shapes(module: nn.Module, state: Dict[str, torch.Tensor], source: str,
                 ignore_prefixes: Tuple[str, ...] = ()) -> List[str]:
    """Raise a ValueError naming ``source`` if ``state`` does not fit ``module``'s shapes.

    Returns the module keys missing from ``state`` (ignoring ``ignore_prefixes``).
    """
    own = module.state_dict()
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                  for k, v in state.items() if k in own and own[k].shape != v.shape]
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state and not k.startswith(ignore_prefixes)]
    if mismatched or unexpected:
        detail = '; '.join(mismatched[:3] + [f'unexpected key {k}' for k in unexpected[:3]])
        raise ValueError(f'checkpoint {source!r} does not match this architecture: {detail}. '
                         f'Check that the checkpoint and the "arch" setting agree')
    return missing


def infer_arch(state: Dict[str, torch.Tensor], prefix: str = 'image_encoder.') -> Optional[str]:
    """Name of the SAM_ARCHS entry whose ViT width and depth match ``state``, if any."""
    weight = state.get(prefix + 'patch_embed.proj.weight')
    if weight is None:
        return None
    depth = len({k.split('.')[2] for k in state if k.startswith(prefix + 'blocks.')})
    for name, cfg in SAM_ARCHS.items():
        if cfg['embed_dim'] == weight.shape[0] and cfg['depth'] == depth:
            return name
    return None


class SAMBase(BaseModule):
    """SAM's image encoder and prompt encoder at architecture ``arch``, for [0, 1] RGB inputs.

    Subclasses add their mask decoder (``self.mask_decoder``) and their forward. Inputs are
    normalised with ImageNet statistics (UnSeg's convention) and must be square at ``img_size``.

    Args:
        arch: SAM architecture name (see :data:`SAM_ARCHS`); ``arch_overrides`` (e.g.
            ``img_size``, ``patch_size``) change its geometry.
        mask_prompt_value: value a mask prompt's foreground is fed to SAM's prompt encoder with
            (255, UnSeg's convention).
    """

    def __init__(self, arch: str, mask_prompt_value: float = 255.0,
                 init_cfg: Optional[dict] = None, **arch_overrides) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch = arch
        self.arch_cfg = get_arch(arch, **arch_overrides)
        self.img_size = self.arch_cfg['img_size']
        self.mask_prompt_value = mask_prompt_value
        self.image_encoder = build_image_encoder(self.arch_cfg)
        self.prompt_encoder = build_prompt_encoder(self.arch_cfg)
        self.register_buffer('pixel_mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer('pixel_std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)

    def init_weights(self) -> None:
        # segment_anything modules initialise themselves; weights come from checkpoints loaded by
        # the subclasses. Nothing for mmengine's initialiser to do.
        pass

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.pixel_mean) / self.pixel_std

    def check_inputs(self, images: torch.Tensor, prompts: Prompts, what: str) -> None:
        """Raise ``ValueError`` unless ``images`` are S x S at this model's size with one prompt
        set each."""
        if images.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f'{what} takes {self.img_size}x{self.img_size} inputs, got '
                             f'{tuple(images.shape[-2:])}; resize and pad first')
        if prompts.batch_size != images.shape[0]:
            raise ValueError(f'{prompts.batch_size} prompt sets for {images.shape[0]} images')

    def encode_prompts(self, prompts: Prompts):
        """(sparse, dense) prompt embeddings and the dense positional encoding."""
        sparse, dense = encode_prompts(self.prompt_encoder, prompts, self.mask_prompt_value)
        return sparse, dense, self.prompt_encoder.get_dense_pe()
