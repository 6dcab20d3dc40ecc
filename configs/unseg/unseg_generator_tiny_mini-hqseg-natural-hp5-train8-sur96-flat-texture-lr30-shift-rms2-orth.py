# ...-flat-texture-lr30-shift-rms2.py with each tile one texture times one colour direction, the
# rest's direction orthogonal to the objects' (region_texture_colour='orthogonal'). With free
# colours the recipe's three training seeds protected VOC at 0.46 / 0.81 / 0.74 of clean, and
# only the first had found a colour split by itself (object tile nearly all red, the rest red +
# blue); this makes the split part of the recipe instead of a draw.
_base_ = [
    './unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-texture-lr30-shift-rms2.py']

model = dict(generator=dict(region_texture_colour='orthogonal'))
