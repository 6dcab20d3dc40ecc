"""SAM-architecture building blocks from ``segment_anything.modeling``, at two sizes.

``vit_b`` is SAM ViT-B exactly as ``segment_anything.build_sam_vit_b`` builds it (1024 px input,
16 px patches, 64 x 64 x 256 image embedding), so its weights load from ``sam_vit_b_01ec64.pth``.
``tiny`` is the same architecture shrunk to train on a CPU in minutes.
"""
import os.path as osp
import pickle
from functools import partial
from typing import Dict, List, Optional, Tuple

import torch
from segment_anything.modeling import ImageEncoderViT, PromptEncoder, TwoWayTransformer
from segment_anything.modeling.common import LayerNorm2d  # noqa: F401  (re-exported)
from torch import nn

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


def load_state_dict_file(path: str) -> Dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, never executing pickled code.

    ``.safetensors`` files are read with safetensors; anything else with
    ``torch.load(weights_only=True)``. A ``state_dict`` / ``model`` wrapper is unwrapped.
    """
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path, device='cpu')
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ValueError(f'cannot read checkpoint {path!r} as plain tensors ({exc}); convert it '
                         f'to a state_dict of tensors or to .safetensors') from exc
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ValueError(f'checkpoint {path!r} holds a {type(obj).__name__}, not a state_dict')
    return obj


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
