# ...-natural-hp5-train8-sur96-flat.py with a region texture in the noise decoder: two trainable
# 8 x 8 tiles (pattern pixels; 32 px of the 256 px frame), one for the object region and one for
# the rest, repeated over the frame and added to the decoder's output before its tanh. Measured
# on the flat-probe runs: even optimised on a probe's loss alone, the decoder's pattern stayed
# hard to read (BCE + Dice ~0.8, where a fixed two-grating mark reaches ~0.2), and it changes
# with every image; the object grating, the one pattern that works at the flat budget, is the
# same on every image. The tiles give the min-min a pattern shared by all images to shape.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat.py']

model = dict(generator=dict(region_texture=8))
