# ...-flat-texture-lr30-shift-rms2-grey-seed2.py with the decoder's image-dependent logits bounded
# to 1 * tanh(. / 1) before the grey tiles (RMS 2) are added (image_logit_bound): unbounded, the
# min-min grew that part to RMS 33 (91 with tiles at RMS 6), which saturated the tanh over the
# tiles; the published noise was then an image-dependent grey sign pattern that cost VOC nothing
# (0.95 of clean, seed 0).
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-grey-seed2.py']

model = dict(generator=dict(image_logit_bound=1.0))
