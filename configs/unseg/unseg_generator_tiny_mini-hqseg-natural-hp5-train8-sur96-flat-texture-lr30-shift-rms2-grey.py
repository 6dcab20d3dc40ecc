# ...-flat-texture-lr30-shift-rms2.py with each tile one trained texture equal in R, G and B
# (region_texture_colour='grey': no chroma, the regions told apart by texture alone). The
# colour-split recipe (...-rms2-orth*.py) puts about half of its energy in chroma, which JPEG at
# quality 10 removes (benchmarks/jpeg_survival.py keeps 0.85 of its luma, 0.43 of it in all)
# and a grayscale defence removes too.
_base_ = [
    './unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-rms2.py']

model = dict(generator=dict(region_texture_colour='grey'))
