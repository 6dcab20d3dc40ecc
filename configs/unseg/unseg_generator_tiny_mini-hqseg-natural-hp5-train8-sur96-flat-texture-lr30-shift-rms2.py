# ...-flat-texture-lr30-shift-zm.py with every tile scaled to a root-mean-square of 2 before the
# tanh (region_texture_rms): zero-mean tiles of free strength were turned nearly off by the
# min-min (0.82 / 0.16 grey levels, 1.11 of clean); with the strength fixed the min-min can only
# choose the tiles' texture, which the shift leaves readable only as texture, not as phase.
_base_ = [
    './unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-zm.py']

model = dict(generator=dict(region_texture_rms=2.0))
