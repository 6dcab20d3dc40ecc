"""SAMSurrogate: SAM's architecture trained from scratch as the inner-level interactive segmenter."""
import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

from ..apis.fileio import load_state_dict_file
from .noise_decoder import BatchedMaskDecoder
from .prompts import Prompts
from .sam_builder import SAMBase, build_two_way_transformer


def mae_to_sam_encoder(state: Dict[str, torch.Tensor], grid: int) -> Dict[str, torch.Tensor]:
    """Map an MAE ViT checkpoint onto SAM's image-encoder names (``image_encoder.*``).

    MAE (``mae_pretrain_vit_base.pth``) and SAM's ViT share patch embedding, attention and norms;
    the MLP layers are ``fc1/fc2`` in MAE and ``lin1/lin2`` in SAM, and MAE's class-token
    position embedding (1 x (1 + g^2) x D) becomes SAM's 1 x grid x grid x D by dropping the class
    token and interpolating bicubically. Relative positions and the neck stay untrained.
    """
    out = {}
    for key, value in state.items():
        if key.startswith(('cls_token', 'norm.', 'fc_norm', 'head', 'decoder', 'mask_token')):
            continue
        key = key.replace('.mlp.fc1.', '.mlp.lin1.').replace('.mlp.fc2.', '.mlp.lin2.')
        if key == 'pos_embed':
            tokens = value[:, 1:] if value.shape[1] != int(math.isqrt(value.shape[1])) ** 2 \
                else value
            side = math.isqrt(tokens.shape[1])
            pos = tokens.reshape(1, side, side, -1).permute(0, 3, 1, 2)
            pos = F.interpolate(pos, size=(grid, grid), mode='bicubic', align_corners=False)
            value = pos.permute(0, 2, 3, 1)
        out['image_encoder.' + key] = value
    return out


@MODELS.register_module()
class SAMSurrogate(SAMBase):
    """A SAM-architecture interactive segmenter predicting one mask per prompt set.

    Args:
        arch: SAM architecture name; ``img_size``/``patch_size`` override its input geometry
            (UnSeg's ViT-B surrogate runs at 512 px).
        mae_checkpoint: MAE-pretrained ViT weights for the image encoder (MAE-style init);
            without one everything starts from random weights.
        mask_prompt_value: foreground value of mask prompts, as the generator's.

    Input: RGB images in [0, 1], B x 3 x S x S. Output: mask logits B x 1 x S/4 x S/4 (the output of
    SAM's first mask token, i.e. ``multimask_output=False``).
    """

    def __init__(self,
                 arch: str = 'vit_b',
                 img_size: Optional[int] = None,
                 patch_size: Optional[int] = None,
                 mae_checkpoint: Optional[str] = None,
                 mask_prompt_value: float = 255.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(arch, mask_prompt_value, init_cfg, img_size=img_size,
                         patch_size=patch_size)
        cfg = self.arch_cfg
        self.mask_decoder = BatchedMaskDecoder(
            transformer_dim=cfg['prompt_embed_dim'],
            transformer=build_two_way_transformer(cfg),
            iou_head_hidden_dim=cfg['iou_head_hidden_dim'])
        self.mae_checkpoint = mae_checkpoint
        if mae_checkpoint is not None:
            self.load_mae_weights(mae_checkpoint)

    def load_mae_weights(self, path: str) -> None:
        grid = self.img_size // self.image_encoder.patch_embed.proj.stride[0]
        state = mae_to_sam_encoder(load_state_dict_file(path), grid)
        own = self.state_dict()
        bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
        if bad or not state:
            raise ValueError(f'MAE checkpoint {path!r} does not fit the {self.arch} image encoder '
                             f'(first mismatching keys: {bad[:3]})')
        self.load_state_dict(state, strict=False)

    def forward(self, images: torch.Tensor, prompts: Prompts) -> torch.Tensor:
        """Mask logits B x 1 x S/4 x S/4 for ``images`` (B x 3 x S x S in [0, 1])."""
        self.check_inputs(images, prompts, 'surrogate')
        embeddings = self.image_encoder(self.normalize(images))
        sparse, dense, dense_pe = self.encode_prompts(prompts)
        masks, _ = self.mask_decoder(embeddings, dense_pe, sparse, dense, multimask_output=False)
        return masks
