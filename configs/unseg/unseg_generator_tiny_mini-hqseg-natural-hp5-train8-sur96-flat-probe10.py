# ...-flat-probe.py with the probe's loss weighted 10 x in the generator's objective. With
# weight 1 the probe's loss fell only from ~1.15 to ~1.0 over training: the generator's
# min-min term dominated and the pattern stayed hard to read from local filter energies.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96-flat-probe.py']

model = dict(noise_probe_weight=10.0)
