"""The bundled generator's error-minimising signature, at tiny scale (~1 min on 2 cores).

A fresh tiny surrogate trained on images protected by the bundled generator must fit its
training set markedly faster than the same surrogate (same seed, same schedule) trained on the
clean images. benchmarks/generator_effect.py is the full measurement (30 epochs, every budget,
clean-val mIoU, the grating control).
"""
import os.path as osp
import sys
from fractions import Fraction

from conftest import REPO_ROOT
from unseg_mm.datasets.mini import make_mini_datasets

sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
import generator_effect  # noqa: E402

FIRST_GENERATOR = osp.join(REPO_ROOT, 'checkpoints', 'unseg_generator_tiny_mini-hqseg.pth')


def test_surrogate_fits_protected_images_faster_than_clean_ones(tmp_path):
    data = str(tmp_path / 'mini')
    make_mini_datasets(data, ['hqseg'], show_progress=False)  # the default mini HQSeg set
    root = osp.join(data, 'hqseg')
    epochs = 6
    clean = generator_effect.train_surrogate(str(tmp_path / 'clean'), root, None, epochs)
    protected = generator_effect.train_surrogate(
        str(tmp_path / 'unseg'), root,
        generator_effect.protection('unseg', FIRST_GENERATOR, Fraction(32, 255),
                                    Fraction(8, 255)), epochs)
    clean_loss = generator_effect.summarize(clean['losses'])
    protected_loss = generator_effect.summarize(protected['losses'])
    # Same start (the perturbation is small), a clearly lower end: the noise is a shortcut.
    assert abs(clean_loss['first'] - protected_loss['first']) < 0.1
    assert protected_loss['last'] < clean_loss['last'] - 0.15, (clean_loss, protected_loss)
