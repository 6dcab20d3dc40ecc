# ...-cluttered-hp5-train8-sur96-flat-frame.py with half of the surrogate's batches prompted by
# the object's box and half by the whole frame. With the frame alone the from-scratch surrogate
# never learns to segment inside the min-min (binary val mIoU 46-48, "all background", both
# losses flat at ~1.2): nothing teaches it what an object is, so it cannot come to read the
# noise either. Box batches teach it the objects; frame batches still reward noise that shows
# which of the near objects is the labelled one. Validated with the frame prompt.
_base_ = ['./unseg_generator_tiny_mini-hqseg-cluttered-hp5-train8-sur96-flat-frame.py']

model = dict(surrogate_prompts=('box', 'frame'))
