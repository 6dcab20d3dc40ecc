"""NoiseProbe: a small local reader of the object mask from the perturbation alone."""
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import nn


@MODELS.register_module()
class NoiseProbe(nn.Module):
    """Local texture-energy model: which pixels are object, read from the noise and nothing else.

    ``conv(k x k) -> |.| -> mean over a window -> 1 x 1 conv`` (plus a linear path for signed
    offsets): a bank of local filters whose response energies are combined linearly, the form of
    a complex-cell model and of ``benchmarks/separability.py``'s spectrum probe. It sees no
    image, so it can only succeed where the pattern itself differs between objects and background
    in a way a shallow local model reads - the kind of mark a target network picks up as a
    shortcut (linearly separable perturbations, Yu et al., KDD 2022).

    Args:
        channels: filters in the bank.
        kernel_size: filter size (pixels of the surrogate's frame).
        window: size of the averaging window of the energies (odd).

    Input: B x 3 x S x S perturbation scaled to about [-1, 1]. Output: B x 1 x S x S logits.
    """

    def __init__(self, channels: int = 16, kernel_size: int = 5, window: int = 5) -> None:
        super().__init__()
        if channels < 1 or kernel_size < 1 or window < 1 or window % 2 == 0 \
                or kernel_size % 2 == 0:
            raise ValueError(f'NoiseProbe needs channels >= 1 and odd kernel_size and window, '
                             f'got {channels}, {kernel_size}, {window}')
        self.filters = nn.Conv2d(3, channels, kernel_size, padding=kernel_size // 2)
        self.window = window
        self.readout = nn.Conv2d(2 * channels, 1, 1)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        response = self.filters(noise)
        pad = self.window // 2
        energy = F.avg_pool2d(response.abs(), self.window, stride=1, padding=pad,
                              count_include_pad=False)
        signed = F.avg_pool2d(response, self.window, stride=1, padding=pad,
                              count_include_pad=False)
        return self.readout(torch.cat([energy, signed], dim=1))
