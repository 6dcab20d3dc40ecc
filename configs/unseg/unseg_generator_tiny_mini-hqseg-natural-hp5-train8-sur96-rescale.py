# unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py with the surrogate seeing the
# perturbed images through a random down-scaling (to 50-100 % of its frame and back), as target
# models do with mmseg's RandomResize: the min-min can no longer win with patterns finer than the
# target's augmentation keeps (the sur96 candidate converged to a 2-pattern-pixel checker).
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py']

model = dict(surrogate_rescale=(0.5, 1.0))
