# ...-flat-texture-lr30-shift-rms2-seed1.py (free tile colours, a draw whose image-dependent part
# grew to RMS 30 and that cost VOC only 0.81 of clean) with that part's RMS softly capped at 3
# (UnSegBilevel.image_logit_cap), as ...-rms2-greyrest-cap3-seed2.py: does the cap rescue a
# second run that ran away, of another recipe?
_base_ = [
    './unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-rms2-'
    'seed1.py']

model = dict(image_logit_cap=3.0)
