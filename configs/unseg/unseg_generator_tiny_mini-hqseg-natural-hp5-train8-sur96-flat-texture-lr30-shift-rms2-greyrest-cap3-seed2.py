# ...-rms2-greyrest-seed2.py (the colour split with the rest's tile grey) with the decoder's
# image-dependent logits held near the tiles by a soft cap instead of a hard bound: the
# generator's objective adds relu(rms - 3) ** 2 (UnSegBilevel.image_logit_cap). Unbounded, that
# part ran away in the grey-rest run (logged RMS 36, 0.98 of clean); bounded hard to 1 in the
# colour-split draw it became a sign pattern and protected less (0.60 against 0.32); the runs
# that protected kept it at RMS 2-8.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-greyrest-seed2.py']

model = dict(image_logit_cap=3.0)
