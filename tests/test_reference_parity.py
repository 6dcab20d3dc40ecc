"""parity='reference' against a golden fixture made with the official UnSeg code (commit 4661a36).

tests/fixtures/reference_parity/README.md says how the fixture was made. The weights are not
stored (a ViT-B generator is 400 MB): they are rebuilt here from the fixture's recipe (seeded
default initialisation) and checked against the recorded SHA-256.
"""
import hashlib
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT
from unseg_mm.apis.checkpoint import load_generator
from unseg_mm.apis.progress import cpu_isa_flags
from unseg_mm.apis.protect import REFERENCE_COMMIT, ImagePrompts, ProtectConfig, protect
from unseg_mm.apis.protect_dataset import MANIFEST
from unseg_mm.models.generator import UnSegGenerator

FIXTURE = osp.join(REPO_ROOT, 'tests', 'fixtures', 'reference_parity')
META = json.load(open(osp.join(FIXTURE, 'fixture.json')))
VOC = osp.join(FIXTURE, 'voc')
PATH = META['numerical_path']


# Byte identity holds on the fixture's numerical path: same torch, CPU instruction set and
# thread count - and the same ISA extensions: on a host with AMX and AVX512-FP16 (torch's
# capability still 'AVX512', 2 threads) the raw noise came out ~1e-6 apart from the fixture's.
# The fixture records the extensions of the host that made it (`cpu_isa_flags`); one that does
# not is checked to the tolerances below everywhere. Elsewhere float sums may end a last bit
# apart, and a value on a rounding boundary one grey level apart.
SAME_PATH = (torch.__version__ == META['torch']
             and torch.backends.cpu.get_cpu_capability() == PATH['cpu_capability']
             and PATH.get('cpu_isa_flags') is not None
             and PATH.get('cpu_isa_flags') == cpu_isa_flags())


@pytest.fixture(autouse=True)
def _fixture_threads():
    from unseg_mm.apis.protect_dataset import torch_threads
    with torch_threads(PATH['num_threads']):
        yield


def recipe_state(seed: int) -> dict:
    """The fixture's weights: UnSegGenerator ViT-B with the release's token slice, default
    initialisation under ``torch.manual_seed(seed)``, every tensor (release layout)."""
    torch.manual_seed(seed)
    generator = UnSegGenerator(arch='vit_b', legacy_token_slice=True)
    generator.save_frozen_weights = True
    return {k: v.contiguous() for k, v in generator.state_dict().items()}


def state_sha256(state: dict) -> str:
    digest = hashlib.sha256()
    for k in sorted(state):
        digest.update(k.encode())
        digest.update(state[k].numpy().tobytes())
    return digest.hexdigest()


@pytest.fixture(scope='module')
def reference_generator(tmp_path_factory):
    """The fixture's weights in the release layout, converted by tools/convert_checkpoint.py."""
    work = tmp_path_factory.mktemp('parity')
    state = recipe_state(META['seed'])
    if state_sha256(state) != META['weights_sha256']:
        pytest.fail('the weight recipe no longer gives the fixture\'s weights (did torch\'s '
                    'default initialisation change?); remake the fixture as '
                    'tests/fixtures/reference_parity/README.md says')
    release = str(work / 'Generator_fixture.pth')
    torch.save(state, release)
    del state
    converted = str(work / 'generator.pth')
    out = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'convert_checkpoint.py'),
                          'release', release, converted], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return converted


def _sample(name):
    image = cv2.imread(osp.join(VOC, 'JPEGImages', name + '.jpg'))
    label = np.array(Image.open(osp.join(VOC, 'SegmentationClass', name + '.png')))
    objects = [label == c for c in np.unique(label) if c not in (0, 255)]
    return image, ImagePrompts(objects=objects)


@pytest.fixture(scope='module')
def reference_outputs(reference_generator):
    """Per fixture image (in the fixture's order), what ``protect(parity='reference')`` publishes
    and the raw noise its forward pass returned (None for the image without objects): one ViT-B
    forward pass per image serves both tests below."""
    from unseg_mm.apis.protect_dataset import torch_threads
    generator = load_generator(reference_generator)
    raw = []
    hook = generator.register_forward_hook(lambda module, args, output: raw.append(output))
    cfg = ProtectConfig(parity='reference', eps_object=META['eps'], eps_background=META['eps_bg'],
                        batch_size=1)
    outputs = {}
    # (a module fixture is set up before the function-scoped thread fixture: pin them here too)
    with torch_threads(PATH['num_threads']):
        try:
            for name in META['order']:
                image, prompt = _sample(name)
                raw.clear()
                published = protect([image], [prompt], generator, cfg, [name])[0].image
                assert len(raw) == (1 if name in META['with_objects'] else 0), name
                outputs[name] = (published, raw[0][0].detach().numpy().copy() if raw else None)
        finally:
            hook.remove()
    return generator, outputs


def test_raw_noise_equals_the_official_generator(reference_outputs):
    """The generator's output on the official script's frame and prompt mask (the forward pass
    of parity='reference') is the official generator's raw noise."""
    _, outputs = reference_outputs
    expected = np.load(osp.join(FIXTURE, 'expected', 'raw_noise.npz'))
    assert sorted(expected.files) == sorted(META['with_objects'])
    for name in META['with_objects']:
        noise = outputs[name][1]
        if SAME_PATH:
            assert np.array_equal(noise, expected[name]), name
        else:
            assert np.abs(noise - expected[name]).max() < 1e-5, name


def test_reference_mode_is_byte_identical_and_default_mode_is_bounded(reference_generator,
                                                                     reference_outputs, tmp_path):
    from tools_entry import protect_main
    cfg = dict(eps_object=META['eps'], eps_background=META['eps_bg'], batch_size=1)
    generator, outputs = reference_outputs
    for name in META['order']:
        image, prompt = _sample(name)
        official = cv2.imread(osp.join(FIXTURE, 'expected', name + '.png'))
        ours = outputs[name][0]  # protect(parity='reference')
        if SAME_PATH:
            assert np.array_equal(ours, official), name
        else:
            assert np.abs(ours.astype(int) - official.astype(int)).max() <= 1, name
        default = protect([image], [prompt], generator, ProtectConfig(**cfg), [name])[0].image
        diff = np.abs(default.astype(int) - official.astype(int))
        # documented difference of the default pipeline: bilinear prompt mask and the
        # full-resolution budget region (up to eps - eps_bg at object borders)
        assert diff.max() <= round(255 * (META['eps'] - META['eps_bg'])) + 1, name
        assert (diff > 0).mean() < 0.02, name

    # the offline tool in reference mode with the official writer (JPEG q95): the same files
    dst = str(tmp_path / 'published')
    assert protect_main(['--format', 'voc', '--src', VOC, '--dst', dst, '--checkpoint',
                         reference_generator, '--parity', 'reference', '--batch-size', '1',
                         '--num-threads', str(PATH['num_threads']),
                         '--jpeg-quality', '95', '--eps', repr(META['eps']), '--eps-bg',
                         repr(META['eps_bg']), '--no-progress']) == 0
    manifest = json.load(open(osp.join(dst, MANIFEST)))
    assert manifest['settings']['parity'] == 'reference'
    for name in META['order'] if SAME_PATH else []:
        published = open(osp.join(dst, 'JPEGImages', name + '.jpg'), 'rb').read()
        official = cv2.imread(osp.join(FIXTURE, 'expected', name + '.png'))
        ok, ours = cv2.imencode('.jpg', official, [cv2.IMWRITE_JPEG_QUALITY, 95])
        assert published == ours.tobytes(), name  # the uint8 image, encoded as the official
        if cv2.__version__ == META['opencv']:  # same libjpeg build as the fixture's
            assert published == open(osp.join(FIXTURE, 'expected', name + '.jpg'), 'rb').read()
    assert REFERENCE_COMMIT == '4661a36'


def test_reference_mode_rejects_what_the_official_script_cannot_do():
    with pytest.raises(ValueError, match="prompt_type='mask'"):
        ProtectConfig(parity='reference', prompt_type='box')
    with pytest.raises(ValueError, match='parity must be one of'):
        ProtectConfig(parity='official')
