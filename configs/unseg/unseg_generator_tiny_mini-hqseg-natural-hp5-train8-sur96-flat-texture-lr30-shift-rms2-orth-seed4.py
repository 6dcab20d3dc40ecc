# ...-flat-texture-lr30-shift-rms2-orth.py (the bundled generator's recipe) trained with seed 4:
# a fresh draw whose surrogate's final validation (recorded in the exported file) is read before
# the quarter-length screen ranks it: does the min-min's own score pick the stronger draws?
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orth.py']

randomness = dict(seed=4)
