# ...-flat-texture-lr30-shift-rms2-orth-seed2.py (the bundled recipe and draw) with the decoder's
# image-dependent logits bounded to 1 * tanh(. / 1) before the colour-split tiles (RMS 2) are
# added (image_logit_bound): the tiles then always lead the published pattern, whatever the
# min-min does to the image-dependent part.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orth-seed2.py']

model = dict(generator=dict(image_logit_bound=1.0))
