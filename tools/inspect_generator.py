"""What a generator file holds: its recorded settings (and the training run's last surrogate
validation, where the file records it) and, for generators with region tiles, the tiles' colour
directions and the share of each tile's energy in R, G and B.

  python tools/inspect_generator.py checkpoints/unseg_generator_tiny_*.pth

One Markdown table row per file (weights read with torch.load(weights_only=True)); the SAM file
a generator refers to is not needed.
"""
import argparse
import os.path as osp
import sys
from typing import List

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from unseg_mm.apis.checkpoint import read_generator_file  # noqa: E402
from unseg_mm.models.noise_decoder import colour_directions  # noqa: E402

CHANNELS = 'RGB'
HEADER = ('| file | settings | objects: colour (R, G, B) | elsewhere: colour (R, G, B) |\n'
          '|---|---|---|---|')


def region_colours(meta: dict, state: dict) -> List[torch.Tensor]:
    """[objects, elsewhere] RGB directions of the file's region tiles as the decoder uses them
    (unit vectors, the second orthogonal to the first), or [] where the tiles have none."""
    colour = meta.get('region_texture_colour', 'free')
    raw = state.get('mask_decoder.noise_region_texture_colour')
    if colour == 'grey':
        grey = torch.full((3, ), 3 ** -0.5)
        return [grey, grey]
    if raw is None or colour not in ('orthogonal', 'grey_rest'):
        return []
    return list(colour_directions(raw.float(), colour))


def _colour(v: torch.Tensor) -> str:
    shares = ', '.join(f'{c} {float(x) ** 2:.0%}' for c, x in zip(CHANNELS, v))
    return f'({", ".join(f"{float(x):+.2f}" for x in v)}): {shares}'


def describe(path: str) -> str:
    content = read_generator_file(path)
    meta, state = content['meta'], content['state_dict']
    keys = ('arch', 'pattern_highpass', 'pattern_gain', 'pattern_window', 'region_texture',
            'region_texture_zero_mean', 'region_texture_rms', 'region_texture_colour',
            'image_logit_bound')
    settings = ', '.join(f'{k}={meta[k]}' for k in keys if k in meta)
    val = meta.get('surrogate_val')
    if isinstance(val, dict) and 'mIoU' in val:  # recorded by GeneratorExportHook
        settings += f'; surrogate val mIoU {val["mIoU"]:.2f} (epoch {val.get("epoch")})'
    colours = region_colours(meta, state)
    if not colours:
        cells = ['-', '-'] if not meta.get('region_texture') else ['free (per pixel)'] * 2
    else:
        cells = [_colour(c) for c in colours]
    return f'| {osp.basename(path)} | {settings} | {cells[0]} | {cells[1]} |'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('files', nargs='+', help='generator files (.pth)')
    args = parser.parse_args(argv)
    print(HEADER)
    for path in args.files:
        print(describe(path))
    return 0


if __name__ == '__main__':
    sys.exit(main())
