# ...-flat-texture-lr30.py with the tiles shifted by a random offset per training image
# (region_texture_shift). Without it the min-min made the same rows on the objects and elsewhere,
# half a period apart: a mark the surrogate reads from the phase against its fixed frame (binary
# val mIoU 92.7) but a target model, which sees random crops, cannot (0.71 of clean at the flat
# budget in the cluttered suite, 1 seed, training loss as clean's).
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30.py']

model = dict(generator=dict(region_texture_shift=True))
