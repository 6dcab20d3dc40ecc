# ...-natural-hp5-train8-sur96-flat.py with a third player in the min-min: a NoiseProbe (a bank
# of 5 x 5 filters whose local energies are read linearly) that reads the object mask from the
# perturbation alone. At a flat budget the trained decoders put nearly the same texture on the
# objects and the background (benchmarks/separability.py: spectrum probe 0.54-0.78, the object
# grating 1.00), and a mark read three times in four costs a target model nothing; the probe's
# loss asks the generator for a pattern a shallow local model tells apart everywhere.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat.py']

model = dict(noise_probe=dict(type='NoiseProbe', channels=16, kernel_size=5, window=5),
             noise_probe_weight=1.0)
optim_wrapper = dict(noise_probe=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)))
param_scheduler = dict(
    noise_probe=[dict(type='MultiStepLR', milestones=[15], gamma=0.1, by_epoch=True)])
