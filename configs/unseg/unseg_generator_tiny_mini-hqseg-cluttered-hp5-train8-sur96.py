# The sur96 recipe (unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py) trained on the
# generator scenes of the cluttered world: one labelled object among 2-4 unlabelled near objects
# as large as it (python tools/make_mini_datasets.py --out data/mini_cluttered --formats
# hqseg_natural --world cluttered). Where the surrogate cannot find the object from its look
# alone, the min-min has a reason to put the object's mark into the noise.
_base_ = ['./unseg_generator_tiny_mini-hqseg-natural-hp5-train8-sur96.py']

data_root = 'data/mini_cluttered/hqseg_natural'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
