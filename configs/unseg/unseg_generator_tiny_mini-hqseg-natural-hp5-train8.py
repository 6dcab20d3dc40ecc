# unseg_generator_tiny_mini-hqseg-natural-hp5.py trained at the publishing budget (8/255 in the
# objects, 2/255 elsewhere) instead of UnSeg's 1/255 and 0.25/255: the ablation of epsilon
# generalisation.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5.py']

model = dict(eps_object=8 / 255, eps_background=2 / 255)
