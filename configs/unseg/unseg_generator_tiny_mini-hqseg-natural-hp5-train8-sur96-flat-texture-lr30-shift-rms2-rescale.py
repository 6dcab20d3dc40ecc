# ...-flat-texture-lr30-shift-rms2.py with the surrogate seeing the perturbed images through a
# random down-scaling (to 50-100 % of its frame and back, surrogate_rescale), as target models
# do with mmseg's RandomResize: the fixed-strength tiles became sparse one-pixel red spikes on
# the objects, a texture a target's down-scaling averages away.
_base_ = [
    './unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-rms2.py']

model = dict(surrogate_rescale=(0.5, 1.0))
