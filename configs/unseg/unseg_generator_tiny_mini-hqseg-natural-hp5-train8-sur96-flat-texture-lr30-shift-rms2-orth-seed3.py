# ...-flat-texture-lr30-shift-rms2-orth.py trained with a fourth seed (initialisation, data
# order, prompts, shifts): one more draw of the bundled recipe, to be ranked by the quarter-length
# `screen` study (benchmarks/suites/mini.py) against the bundled seed-2 draw.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orth.py']

randomness = dict(seed=3)
