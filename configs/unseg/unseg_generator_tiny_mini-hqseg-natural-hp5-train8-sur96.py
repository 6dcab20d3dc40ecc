# unseg_generator_tiny_mini-hqseg-natural-hp5-train8.py with the alternation turned round:
# 96 surrogate iterations for every 32 generator iterations. With 32 : 96 the from-scratch
# surrogate never learned to segment the natural world inside the min-min (validation on
# perturbed images stayed "all background"); with 96 : 32 it does, and the generator then has a
# surrogate that responds to its noise.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8.py']

model = dict(alternation=dict(by='iter', surrogate=96, generator=32))
