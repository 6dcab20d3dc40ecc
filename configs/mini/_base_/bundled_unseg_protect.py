# The bundled tiny generator as an UnSegProtect transform, at the tool's default budget (8/255 on
# every pixel): configs/mini/*_unseg_mini-*.py put it into their task's training pipeline.
unseg_protect = dict(
    type='UnSegProtect',
    checkpoint=('checkpoints/unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-'
                'texture-lr30-shift-rms2-orth-seed2-gain4-window160.pth'))
