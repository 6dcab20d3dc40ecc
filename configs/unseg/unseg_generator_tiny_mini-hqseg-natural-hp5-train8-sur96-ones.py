# unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py with the released code's generator
# objective: the noise is trained to push the surrogate towards predicting "object" everywhere
# (all-ones target) instead of towards the true masks (the paper's text, 'gt'): the objective
# ablation of the generators study.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py']

model = dict(generator_target='ones')
