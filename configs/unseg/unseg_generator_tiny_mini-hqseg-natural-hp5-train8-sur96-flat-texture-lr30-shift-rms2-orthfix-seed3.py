# ...-rms2-orthfix-seed1.py (the bundled recipe with the colour split of its strongest draws
# fixed: objects green + blue, the rest red) trained with seed 3, the recipe's weakest draw
# with trained directions (0.75 of clean at the quarter-length screen, objects blue, the rest
# green).
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orthfix-seed1.py']

randomness = dict(seed=3)
