# The mini Mask2Former shared by the ADE20K (mmseg, semantic) and COCO (mmdet, panoptic and
# instance) mini configs (read there through `_base_._mask2former`; see mini_runtime.py for '_'
# names): a half-width ResNet-18 with the deep (V1c) stem from the mini-pretrained backbone the
# DeepLabV3 configs use, 64-d pixel decoder / transformer, fewer layers and queries, 600
# iterations. The mini DINO takes its backbone (and the backbone's stage widths) from here too.
_embed_dims = 64
_pretrained_backbone = 'checkpoints/r18v1c-half_mini-natural-pretrain.pth'
_attention = dict(embed_dims=_embed_dims, num_heads=4)
_ffn = dict(embed_dims=_embed_dims, feedforward_channels=4 * _embed_dims)
_mask2former = dict(
    embed_dims=_embed_dims,
    pretrained_backbone=_pretrained_backbone,
    backbone=dict(depth=18, deep_stem=True, stem_channels=32, base_channels=32,
                  init_cfg=dict(type='Pretrained', checkpoint=_pretrained_backbone)),
    # the decode head (mmseg) / panoptic head (mmdet)
    head=dict(
        in_channels=[32, 64, 128, 256],
        feat_channels=_embed_dims,
        out_channels=_embed_dims,
        num_queries=20,
        pixel_decoder=dict(
            encoder=dict(num_layers=2, layer_cfg=dict(self_attn_cfg=_attention, ffn_cfg=_ffn)),
            positional_encoding=dict(num_feats=_embed_dims // 2)),
        positional_encoding=dict(num_feats=_embed_dims // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(self_attn_cfg=_attention, cross_attn_cfg=_attention, ffn_cfg=_ffn))),
    max_iters=600)
