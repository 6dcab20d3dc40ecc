# ...-flat-texture-lr30-shift-rms2-orth-seed3.py (the bundled generator's recipe, its weakest
# draw: image-dependent part at RMS 22.5 after training, saturating the tanh so that the
# high-pass leaves 0.53 of the budget on the published pattern; 0.75 of clean at the
# quarter-length screen, not fitted) with that part's RMS softly capped at 3
# (UnSegBilevel.image_logit_cap), as ...-rms2-orth-cap3-seed1.py: is a run-away image part what
# makes a draw of the recipe fail?
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orth-seed3.py']

model = dict(image_logit_cap=3.0)
