# ...-flat-texture-lr30-shift-rms2-orth-seed2.py (the bundled recipe and draw) with the rest's
# tile fixed to grey and the objects' colour trained orthogonal to grey
# (region_texture_colour='grey_rest'). The colour-split generators' shortcut lives on the rest
# of the image (targets trained on them take clean background for objects), and JPEG at
# quality 10 keeps 0.85 of their luma and almost none of their chroma: this keeps the split and
# puts the rest's tile where JPEG-10 and grayscale leave it.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-'
          'rms2-orth-seed2.py']

model = dict(generator=dict(region_texture_colour='grey_rest'))
