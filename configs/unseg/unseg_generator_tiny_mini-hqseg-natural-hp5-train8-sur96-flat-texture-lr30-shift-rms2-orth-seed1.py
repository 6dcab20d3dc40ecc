# ...-flat-texture-lr30-shift-rms2-orth.py trained with another seed (initialisation, data
# order, prompts, shifts): the recipe's spread, beside ...-rms2-seed1.py without the colour split.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orth.py']

randomness = dict(seed=1)
