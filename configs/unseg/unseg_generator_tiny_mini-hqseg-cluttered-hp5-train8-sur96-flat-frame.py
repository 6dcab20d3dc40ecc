# The cluttered-world sur96 recipe with the surrogate prompted by the whole frame and one budget
# for the whole image (8/255). A semantic segmenter gets no prompt: it has to find the objects
# among the clutter by itself. A box, points or a mask prompt tell the surrogate where the object
# is, so the reference's min-min has little reason to mark the object in the noise; with a frame
# prompt and no budget map, the noise pattern is the only place where the surrogate can learn
# which of the near objects is the labelled one.
_base_ = ['./unseg_generator_tiny_mini-hqseg-cluttered-hp5-train8-sur96.py']

model = dict(eps_background=8 / 255, surrogate_prompts=('frame', ), val_prompt='frame')
