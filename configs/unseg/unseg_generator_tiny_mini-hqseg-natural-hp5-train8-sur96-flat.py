# The sur96 recipe (unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py) with one budget
# for the whole image: 8/255 on the objects AND on the background. At 8/255 / 2/255 the amplitude
# map alone already marks the objects (the `uniform` control does that much in the cluttered
# world), so the min-min need not put the mark into the pattern; with a flat budget the pattern
# is the only place the surrogate can read the object from.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py']

model = dict(eps_background=8 / 255)
