# ...-flat-texture-lr30-shift-rms2.py trained with a third seed (initialisation, data order,
# prompts, shifts): how much of its effect is the recipe and how much one run.
_base_ = [
    './unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-rms2.py']

randomness = dict(seed=2)
