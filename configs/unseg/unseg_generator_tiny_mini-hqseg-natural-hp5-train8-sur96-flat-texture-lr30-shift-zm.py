# ...-flat-texture-lr30-shift.py with zero-mean tiles (region_texture_zero_mean): with the shift,
# the min-min turned the tiles into opposite colour casts (objects red / not green, the rest the
# reverse), which the high-passed pattern keeps only at the objects' edges; without a mean the
# tiles can only differ in texture that reads the same at every offset.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift.py']

model = dict(generator=dict(region_texture_zero_mean=True))
