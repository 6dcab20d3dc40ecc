"""SAM's mask decoder, batched, and UnSeg's noise decoder built on it.

The noise decoder is SAM-HQ-like: three learned noise tokens (one per RGB channel) join SAM's
output tokens in the frozen two-way transformer; per-channel hypernetwork MLPs turn each
noise-token output into a dynamic filter that is applied to a fusion of early ViT features, the
final image embedding and SAM's upscaled mask features; ``tanh`` bounds the result to [-1, 1].
Every new parameter has ``noise`` in its name (the trainable set); parameter names and shapes
follow the UnSeg release so its weights load unchanged.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from segment_anything.modeling import MaskDecoder
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.mask_decoder import MLP
from torch import nn

NUM_NOISE_CHANNELS = 3
REGION_TEXTURE_COLOURS = ('free', 'orthogonal', 'grey', 'grey_rest')
# the modes whose tiles are one texture times a trained colour direction per region
DIRECTED_COLOURS = ('orthogonal', 'grey_rest')


class BatchedMaskDecoder(MaskDecoder):
    """SAM's ``MaskDecoder`` with one prompt set per image of the batch.

    SAM's own ``predict_masks`` repeats a single image embedding for every prompt; here image ``i``
    of the batch is paired with prompt set ``i``. Weights and outputs are SAM's.
    """

    def run_transformer(self, image_embeddings: torch.Tensor, image_pe: torch.Tensor,
                        sparse_prompt_embeddings: torch.Tensor,
                        dense_prompt_embeddings: torch.Tensor,
                        extra_tokens: Sequence[torch.Tensor] = ()
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Two-way transformer over [iou, mask, *extra, prompt] tokens and the image embedding.

        Args:
            image_embeddings: B x C x h x w.
            image_pe: 1 x C x h x w dense positional encoding.
            sparse_prompt_embeddings: B x N x C (points, boxes).
            dense_prompt_embeddings: B x C x h x w (mask prompt or "no mask").
            extra_tokens: additional learned tokens (each K x C) placed after SAM's.

        Returns:
            token outputs B x T x C and updated image features B x C x h x w.
        """
        batch = image_embeddings.shape[0]
        output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight,
                                   *extra_tokens], dim=0)
        tokens = torch.cat([output_tokens.unsqueeze(0).expand(batch, -1, -1),
                            sparse_prompt_embeddings], dim=1)
        src = image_embeddings + dense_prompt_embeddings
        pos_src = image_pe.expand(batch, -1, -1, -1)
        b, c, h, w = src.shape
        hs, src = self.transformer(src, pos_src, tokens)
        return hs, src.transpose(1, 2).reshape(b, c, h, w)

    def predict_masks(self, image_embeddings: torch.Tensor, image_pe: torch.Tensor,
                      sparse_prompt_embeddings: torch.Tensor,
                      dense_prompt_embeddings: torch.Tensor
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mask logits B x M x 4h x 4w and IoU predictions B x M, as SAM's decoder."""
        hs, src = self.run_transformer(image_embeddings, image_pe, sparse_prompt_embeddings,
                                       dense_prompt_embeddings)
        mask_tokens_out = hs[:, 1:1 + self.num_mask_tokens]
        upscaled = self.output_upscaling(src)
        hyper_in = torch.stack([mlp(mask_tokens_out[:, i])
                                for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        b, c, h, w = upscaled.shape
        masks = (hyper_in @ upscaled.view(b, c, h * w)).view(b, -1, h, w)
        return masks, self.iou_prediction_head(hs[:, 0])


def _init_xavier(modules: List[nn.Module]) -> None:
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(layer.weight)


def colour_directions(raw: torch.Tensor, mode: str) -> torch.Tensor:
    """2 x C unit colour directions [object, elsewhere] of directed region tiles from their raw
    vectors (``mode`` ``'orthogonal'``: 2 x C, the second made orthogonal to the first;
    ``'grey_rest'``: 1 x C for the objects, made orthogonal to grey, the rest grey)."""
    if mode == 'grey_rest':
        colour = raw[0]
        rest = torch.full_like(colour, colour.shape[0] ** -0.5)
        obj = F.normalize(colour - (colour @ rest) * rest, dim=0)
        return torch.stack([obj, rest])
    obj, rest = raw
    obj = F.normalize(obj, dim=0)
    rest = F.normalize(rest - (rest @ obj) * obj, dim=0)
    return torch.stack([obj, rest])


def _fixed_colours(colours) -> torch.Tensor:
    """2 x C unit directions from ``region_texture_colour_fixed`` (checked)."""
    value = torch.as_tensor(colours, dtype=torch.float32)
    if value.shape != (2, NUM_NOISE_CHANNELS):
        raise ValueError('region_texture_colour_fixed must be two RGB directions '
                         f'[[r, g, b], [r, g, b]], got {colours!r}')
    obj = F.normalize(value[0], dim=0)
    rest = value[1] - (value[1] @ obj) * obj
    if value[0].norm() < 1e-6 or rest.norm() < 1e-3 * max(float(value[1].norm()), 1e-6):
        raise ValueError('region_texture_colour_fixed needs two non-zero directions that are '
                         f'not parallel, got {colours!r}')
    return colour_directions(value, 'orthogonal')


class NoiseMaskDecoder(BatchedMaskDecoder):
    """SAM's mask decoder plus UnSeg's trainable noise head.

    Args:
        transformer_dim: SAM's prompt embedding width C (256 for SAM).
        transformer: SAM's two-way transformer.
        vit_dim: width of the image encoder's early feature (768 for ViT-B).
        num_multimask_outputs, iou_head_hidden_dim: as SAM's ``MaskDecoder``.
        legacy_token_slice: read the noise-token outputs the way the UnSeg release does (SAM's
            last mask-token output plus the first two noise tokens). Needed to run the released
            ``Generator_unseg_final.pth`` as trained; our own generators use the three noise tokens.
        region_texture: 0 (off, UnSeg's decoder) or the side, in pattern pixels, of two trainable
            tiles (one for the object region, one for the rest) repeated over the frame and added
            to the decoder's output before its ``tanh``: a pattern shared by every image that the
            min-min can shape into a mark, beside the image- and prompt-dependent part. Needs the
            object region at :meth:`predict_noise`.
        region_texture_shift: in training mode, shift the tiles by a random offset per image
            (drawn from torch's global generator). A target model sees random crops, so the
            tiles' phase against the frame tells it nothing; with a fixed phase the min-min
            settles on a mark only that phase carries (measured: the same rows on the objects
            and elsewhere, half a period apart). Off in eval mode (publishing): no shift.
        region_texture_zero_mean: use each tile minus its mean (per channel): the tiles can then
            carry no colour cast, only texture (with the shift, the min-min otherwise settled on
            opposite casts, which a high-passed pattern keeps only at the objects' edges).
        region_texture_rms: 0 (off) or the root-mean-square every tile is scaled to (after the
            mean is removed, with ``region_texture_zero_mean``): the min-min then chooses the
            tiles' texture, not their strength (with free strength and zero mean it turned the
            tiles nearly off). The tiles start random instead of zero.
        region_texture_colour: ``'free'`` (each tile any colour per pixel) or ``'orthogonal'``:
            each tile is one trained spatial texture times one trained colour direction, the
            rest's direction kept orthogonal to the objects' (Gram-Schmidt). A target model can
            then tell the regions apart by the texture's energy along a colour direction (a 1 x 1
            filter and a local energy); with free colours only one of three training seeds of the
            same recipe found such a split by itself (its object tile nearly all red, the rest
            red + blue) and it was the only one to protect well (0.46 vs 0.81 / 0.74 of clean).
            ``'grey'``: each tile one trained spatial texture, equal in R, G and B (no chroma;
            the regions differ by texture alone). JPEG at quality 10 keeps 0.85-0.93 of a
            pattern's luma at 2.5-5 px per pattern pixel and almost none of its chroma, and a
            grayscale defence keeps only luma.
            ``'grey_rest'``: as ``'orthogonal'`` with the rest's direction fixed to grey (equal
            in R, G, B) and the objects' trained orthogonal to it (no luma in the mean of the
            channels): the colour split stays, and the tile on the rest of the image, where the
            colour-split generators' shortcut lives, is the part JPEG-10 and grayscale keep.
        region_texture_colour_fixed: None (the directions are trained) or the two RGB colour
            directions [objects, elsewhere] of ``'orthogonal'`` tiles, fixed instead of trained
            (each normalised; the second made orthogonal to the first). Of the four training
            seeds of the bundled recipe, the two that protected best settled on the objects in
            green + blue and the rest in red, the two weakest on one channel each (objects
            blue, the rest green) with the third channel unused: fixing the split the strong
            draws found asks whether the directions, or something else of a draw, decide it.
        image_logit_bound: 0 (off) or B: the image-dependent logits pass through
            B * tanh(logits / B) before the tiles are added, so tiles of a root-mean-square above
            B decide the pattern's sign wherever they are strong. Unbounded, the min-min let that
            part grow to RMS 24-33 in the runs that protected worst (two free-colour seeds of the
            rms2 recipe, 0.74-0.81 of clean, and grey tiles), saturating the tanh over the tiles;
            in the runs that protected (0.32-0.53) it stayed at RMS 2-8.
    """

    def __init__(self, *, transformer_dim: int, transformer: nn.Module, vit_dim: int,
                 num_multimask_outputs: int = 3, iou_head_hidden_dim: int = 256,
                 legacy_token_slice: bool = False, region_texture: int = 0,
                 region_texture_shift: bool = False,
                 region_texture_zero_mean: bool = False,
                 region_texture_rms: float = 0.0,
                 region_texture_colour: str = 'free',
                 region_texture_colour_fixed: Optional[Sequence[Sequence[float]]] = None,
                 image_logit_bound: float = 0.0) -> None:
        super().__init__(transformer_dim=transformer_dim, transformer=transformer,
                         num_multimask_outputs=num_multimask_outputs,
                         iou_head_hidden_dim=iou_head_hidden_dim)
        d = transformer_dim
        self.legacy_token_slice = legacy_token_slice
        if region_texture < 0:
            raise ValueError(f'region_texture must be >= 0, got {region_texture}')
        self.region_texture = int(region_texture)
        self.region_texture_shift = bool(region_texture_shift)
        self.region_texture_zero_mean = bool(region_texture_zero_mean)
        if region_texture_rms < 0:
            raise ValueError(f'region_texture_rms must be >= 0, got {region_texture_rms}')
        self.region_texture_rms = float(region_texture_rms)
        if region_texture_colour not in REGION_TEXTURE_COLOURS:
            raise ValueError(f'region_texture_colour must be one of {REGION_TEXTURE_COLOURS}, '
                             f'got {region_texture_colour!r}')
        self.region_texture_colour = region_texture_colour
        if image_logit_bound < 0:
            raise ValueError(f'image_logit_bound must be >= 0, got {image_logit_bound}')
        if image_logit_bound and not self.region_texture:
            raise ValueError('image_logit_bound bounds the image-dependent logits against the '
                             'region tiles; set region_texture too')
        self.image_logit_bound = float(image_logit_bound)
        self.image_logit_rms: Optional[torch.Tensor] = None  # set by predict_noise
        self.image_logit_rms_raw: Optional[torch.Tensor] = None  # set by predict_noise
        if self.region_texture:
            # [object, elsewhere] x channels x tile x tile; zero: starts as the plain decoder
            # (random with a fixed strength, which a zero tile has no direction for)
            orthogonal = region_texture_colour in DIRECTED_COLOURS
            one_texture = orthogonal or region_texture_colour == 'grey'
            shape = (2, 1 if one_texture else NUM_NOISE_CHANNELS,
                     self.region_texture, self.region_texture)
            self.noise_region_texture = nn.Parameter(
                torch.randn(shape) if self.region_texture_rms else torch.zeros(shape))
            if orthogonal:  # [object, elsewhere] x channels; the name keeps the tiles' lr_mult
                self.noise_region_texture_colour = nn.Parameter(torch.randn(
                    1 if region_texture_colour == 'grey_rest' else 2, NUM_NOISE_CHANNELS))
        self.region_texture_colour_fixed = region_texture_colour_fixed is not None
        if self.region_texture_colour_fixed:
            colours = _fixed_colours(region_texture_colour_fixed)
            if not self.region_texture or region_texture_colour != 'orthogonal':
                raise ValueError('region_texture_colour_fixed sets the two directions of '
                                 "region_texture_colour='orthogonal' tiles; set region_texture "
                                 "and region_texture_colour='orthogonal' too")
            with torch.no_grad():  # drawn above all the same: the tiles start as without it
                self.noise_region_texture_colour.copy_(colours)
            # kept out of training by UnSegGenerator (requires_grad False); saved with the
            # trained weights like the trained directions, so a file needs nothing else
        self.noise_token = nn.Embedding(NUM_NOISE_CHANNELS, d)
        self.noise_mlp = nn.ModuleList(
            [MLP(d, d, d // 8, 3) for _ in range(NUM_NOISE_CHANNELS)])
        # Early ViT feature (h x w x vit_dim) -> 4h x 4w x d/8
        self.noise_compress_vit_feat = nn.Sequential(
            nn.Conv2d(vit_dim, vit_dim, 3, 1, 1), LayerNorm2d(vit_dim), nn.GELU(),
            nn.ConvTranspose2d(vit_dim, d, kernel_size=2, stride=2), LayerNorm2d(d), nn.GELU(),
            nn.ConvTranspose2d(d, d // 8, kernel_size=2, stride=2))
        # Final image embedding (h x w x d) -> 4h x 4w x d/8
        self.noise_embedding_encoder = nn.Sequential(
            nn.Conv2d(d, d, 3, 1, 1), LayerNorm2d(d), nn.GELU(),
            nn.ConvTranspose2d(d, d // 4, kernel_size=2, stride=2), LayerNorm2d(d // 4),
            nn.GELU(), nn.ConvTranspose2d(d // 4, d // 8, kernel_size=2, stride=2))
        # Refines SAM's (frozen) upscaled mask features, 4h x 4w x d/8
        self.noise_embedding_maskfeature = nn.Sequential(
            nn.Conv2d(d // 8, d // 4, 3, 1, 1), LayerNorm2d(d // 4), nn.GELU(),
            nn.Conv2d(d // 4, d // 8, 3, 1, 1))
        nn.init.xavier_uniform_(self.noise_token.weight)
        _init_xavier([self.noise_compress_vit_feat, self.noise_embedding_encoder,
                      self.noise_embedding_maskfeature])

    def predict_noise(self, image_embeddings: torch.Tensor, early_features: torch.Tensor,
                      image_pe: torch.Tensor, sparse_prompt_embeddings: torch.Tensor,
                      dense_prompt_embeddings: torch.Tensor,
                      region: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Perturbation pattern B x 3 x 4h x 4w in [-1, 1] (RGB channel order).

        Args:
            image_embeddings: B x C x h x w final image embedding.
            early_features: B x vit_dim x h x w output of the first global-attention block.
            image_pe, sparse_prompt_embeddings, dense_prompt_embeddings: as SAM's decoder.
            region: B x 1 x H x W object region in [0, 1] at any resolution (the budget map);
                used only with ``region_texture``.
        """
        fused = (self.noise_embedding_encoder(image_embeddings) +
                 self.noise_compress_vit_feat(early_features))
        hs, src = self.run_transformer(image_embeddings, image_pe, sparse_prompt_embeddings,
                                       dense_prompt_embeddings,
                                       extra_tokens=[self.noise_token.weight])
        first = self.num_mask_tokens if self.legacy_token_slice else 1 + self.num_mask_tokens
        noise_tokens_out = hs[:, first:first + NUM_NOISE_CHANNELS]
        features = self.noise_embedding_maskfeature(self.output_upscaling(src)) + fused
        hyper_in = torch.stack([mlp(noise_tokens_out[:, i])
                                for i, mlp in enumerate(self.noise_mlp)], dim=1)
        b, c, h, w = features.shape
        logits = (hyper_in @ features.view(b, c, h * w)).view(b, -1, h, w)
        if self.region_texture:
            # the image part's RMS before any bound, with its graph where gradients are on:
            # what UnSegBilevel's image_logit_cap penalises
            self.image_logit_rms_raw = logits.pow(2).mean().sqrt()
            if self.image_logit_bound:
                logits = self.image_logit_bound * torch.tanh(logits / self.image_logit_bound)
            # the training log's image_logit_rms: how loud the image-dependent part is beside
            # the tiles (fixed RMS); runs where it grew far past them did not protect
            self.image_logit_rms = logits.detach().pow(2).mean().sqrt()
            logits = logits + self.texture(region, (h, w))
        return torch.tanh(logits)

    def region_colours(self) -> torch.Tensor:
        """2 x C unit colour directions [object, elsewhere] of ``region_texture_colour=
        'orthogonal'`` tiles, the second orthogonal to the first (``'grey_rest'``: the second
        grey, the first orthogonal to it)."""
        return colour_directions(self.noise_region_texture_colour, self.region_texture_colour)

    def texture(self, region: Optional[torch.Tensor], size: Tuple[int, int]) -> torch.Tensor:
        """The region tiles over a ``size`` pattern: object tile inside ``region``, the other
        outside (area-weighted at the region's edges)."""
        if region is None:
            raise ValueError('this generator has a region texture (region_texture='
                             f'{self.region_texture}) and needs the object region: pass '
                             'region= (B x 1 x H x W, the union of the prompted objects)')
        h, w = size
        t = self.region_texture
        b, device = region.shape[0], region.device
        if self.region_texture_shift and self.training:
            dy, dx = torch.randint(t, (2, b, 1), device=device)
        else:
            dy = dx = torch.zeros(b, 1, dtype=torch.long, device=device)
        rows = (torch.arange(h, device=device) + dy) % t  # B x h
        cols = (torch.arange(w, device=device) + dx) % t  # B x w
        # 2 x C x B x h x w -> 2 x B x C x h x w
        tiles = self.noise_region_texture
        if self.region_texture_colour in DIRECTED_COLOURS:
            tiles = tiles * self.region_colours()[:, :, None, None]
        elif self.region_texture_colour == 'grey':
            tiles = tiles.expand(-1, NUM_NOISE_CHANNELS, -1, -1) / NUM_NOISE_CHANNELS ** 0.5
        if self.region_texture_zero_mean:
            tiles = tiles - tiles.mean(dim=(-2, -1), keepdim=True)
        if self.region_texture_rms:
            rms = tiles.pow(2).mean(dim=(1, 2, 3), keepdim=True).add(1e-12).sqrt()
            tiles = tiles * (self.region_texture_rms / rms)
        tiles = tiles[:, :, rows[:, :, None], cols[:, None, :]]
        tiles = tiles.permute(0, 2, 1, 3, 4)
        inside = F.interpolate(region.float(), size=(h, w), mode='area') \
            if region.shape[-2:] != (h, w) else region.float()
        return inside * tiles[0] + (1.0 - inside) * tiles[1]
