# ...-flat-texture-lr30-shift-rms2-grey.py trained with seed 2, the bundled colour-split
# generator's training seed (...-rms2-orth-seed2.py).
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-grey.py']

randomness = dict(seed=2)
