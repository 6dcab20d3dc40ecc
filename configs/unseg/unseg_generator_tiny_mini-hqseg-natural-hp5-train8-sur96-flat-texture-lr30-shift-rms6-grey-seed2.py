# ...-flat-texture-lr30-shift-rms2-grey-seed2.py with the grey tiles at a root-mean-square of 6
# before the tanh instead of 2. At 2 the min-min let the image-dependent part of the decoder grow
# to RMS 7.4 (per-channel casts, 2.4 in the colour-split recipe), which saturates the tanh over
# the tiles and which the high-pass then takes away (published noise RMS 2.6 grey levels at
# 8/255, the colour-split recipe's 6.2); at 6 the tiles are as strong as that from the start.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-grey-seed2.py']

model = dict(generator=dict(region_texture_rms=6.0))
