# ...-flat-texture.py with the tiles learning 30 x faster than the rest of the noise decoder.
# At the decoder's rate (Adam, 1e-3, 640 generator steps) the trained tiles stayed small (mean
# |value| 0.06 before the tanh): the image-dependent part dominated the pattern.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture.py']

optim_wrapper = dict(
    generator=dict(paramwise_cfg=dict(custom_keys={'noise_region_texture': dict(lr_mult=30)})))
