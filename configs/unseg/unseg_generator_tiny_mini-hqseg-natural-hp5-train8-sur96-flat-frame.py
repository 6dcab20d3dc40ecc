# ...-natural-hp5-train8-sur96-flat.py with the surrogate prompted by the whole frame (told
# nothing of where the object is, as a semantic segmenter is not). On the cluttered scenes such a
# surrogate never learned inside the min-min (...-cluttered-hp5-train8-sur96-flat-frame.py); on
# the natural scenes the object can be found from its look, so the surrogate learns, and the
# generator is rewarded for noise that makes the object easier still to find: a mark of the
# object in the pattern, the only place it can go at a flat budget.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat.py']

model = dict(surrogate_prompts=('frame', ), val_prompt='frame')
