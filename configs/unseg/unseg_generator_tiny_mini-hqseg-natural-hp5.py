# unseg_generator_tiny_mini-hqseg-natural.py with a high-passed pattern (5 x 5 pattern pixels,
# about 12 px of a 160 px image): a flat colour cast carries no budget, so min-min has to put
# it into structure finer than the window. Without it, the natural-world generator learns to
# darken the objects flatly (see checkpoints/README.md).
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural.py']

model = dict(generator=dict(pattern_highpass=5))
