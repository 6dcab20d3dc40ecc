# ...-flat-texture-lr30-shift-rms2-orth-seed1.py (the bundled generator's recipe, a weaker draw:
# VOC at 0.53 of clean, image-dependent part at RMS 6.4 at the end) with that part's RMS softly
# capped at 3 (UnSegBilevel.image_logit_cap), as ...-rms2-cap3-seed1.py: does the cap make every
# draw of the recipe protect like the bundled seed 2?
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orth-seed1.py']

model = dict(image_logit_cap=3.0)
