"""PGD adversarial training (Madry et al., ICLR 2018) for any mmseg segmentor or mmdet detector.

The defence of a trainer who suspects the training images carry an additive perturbation: every
training batch is replaced by its worst case within an L-inf ball of radius ``eps`` around the
(published) pixels, found by ``steps`` of projected gradient ascent on the model's own training
loss, and the model is trained on that batch.

Wrap a config's model without editing the base config::

    _base_ = './deeplabv3_r18_unseg_mini-voc.py'
    from unseg_mm.apis.config_utils import with_adversarial_training
    model = with_adversarial_training(_base_.model, eps=4 / 255, steps=5)

The attack runs inside ``forward(mode='loss')``, so mmengine's plain ``train_step`` and its
distributed wrapper (which calls the data preprocessor and then ``forward``) both train
adversarially. Validation and testing run the wrapped model unchanged.

Defaults follow the references gathered in the team notes: radius 4/255 or 8/255, 10 steps of
``2.5 * eps / steps`` (APBench's ``MadrysLoss``: 2/255 per step at 8/255), random start, batch-norm
statistics frozen during the attack iterations. ``adversarial_fraction``
< 1 attacks only that share of each batch and keeps the rest clean, as SAT (half clean, half
adversarial) in Xu et al.'s DDC-AT code. DDC-AT itself is not offered: it adds a second
classifier and a per-pixel routing head inside the decode head, which is an architecture change of
semantic segmentors, not something a wrapper around any segmentor or detector can provide.
"""
import copy
import math
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.model import BaseModel
from torch.nn.modules.batchnorm import _BatchNorm
from mmengine.registry import MODELS


@contextmanager
def frozen_norm_statistics(model: torch.nn.Module):
    """Training mode, but batch-norm layers normalise with (and keep) their running statistics.

    The attack runs in training mode because detectors such as DINO compute their training loss
    only there; attack iterations must not update the statistics.
    """
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.training]
    for m in norms:
        m.eval()
    try:
        yield
    finally:
        for m in norms:
            m.train()


@MODELS.register_module()
class PGDAdversarialTraining(BaseModel):
    """Train ``model`` on PGD adversarial examples of each batch.

    Args:
        model: config (or module) of an mmseg segmentor / mmdet detector with a normalising data
            preprocessor (``mean``/``std`` in 0-255 pixel units).
        eps: L-inf radius in [0, 1] intensity units (4/255 = four grey levels).
        steps: PGD iterations (0 disables the attack: plain training).
        step_size: per-step change in [0, 1] units; default ``2.5 * eps / steps``.
        random_start: start from a uniform point of the ball (Madry et al.).
        adversarial_fraction: share of each batch replaced by adversarial examples (the first
            ``ceil(fraction * batch)`` samples); 1.0 is PGD-AT, 0.5 is SAT.
        data_preprocessor: the wrapped model's preprocessor when its config has none.

    The attack follows the gradient of the summed loss, so it can only raise the terms that have
    one: for a DETR-style detector at initialisation (DINO's regression layers start at zero, its
    boxes are the encoder's top-k anchor proposals) the box and IoU losses are piecewise constant
    in the pixels and only the classification terms are attacked until the box heads have learnt.
    """

    def __init__(self, model, eps: float = 4 / 255, steps: int = 10,
                 step_size: Optional[float] = None, random_start: bool = True,
                 adversarial_fraction: float = 1.0, data_preprocessor=None,
                 init_cfg=None) -> None:
        if isinstance(model, dict):
            model = dict(model)
            if data_preprocessor is not None:
                # The Runner hands the config's top-level data_preprocessor to the outermost
                # model; it belongs to the wrapped one (unless that has its own).
                model.setdefault('data_preprocessor', data_preprocessor)
            model = MODELS.build(model)
        if not 0 <= eps <= 1:
            raise ValueError(f'eps must be in [0, 1] (intensity units, e.g. 4/255), got {eps}')
        if steps < 0:
            raise ValueError(f'steps must be >= 0, got {steps}')
        if not 0 < adversarial_fraction <= 1:
            raise ValueError(f'adversarial_fraction must be in (0, 1], got {adversarial_fraction}')
        preprocessor = model.data_preprocessor
        if not hasattr(preprocessor, 'mean') or not hasattr(preprocessor, 'std'):
            raise ValueError(f'{type(model).__name__}: PGD needs a data preprocessor with mean '
                             f'and std to map its inputs back to pixels')
        # The wrapper shares the model's preprocessor: the runner (and DDP) call it before
        # forward, exactly as for the bare model.
        super().__init__(data_preprocessor=preprocessor, init_cfg=init_cfg)
        self.model = model
        self.eps = float(eps)
        self.steps = int(steps)
        self.step_size = float(step_size) if step_size is not None else \
            (2.5 * self.eps / self.steps if self.steps else 0.0)
        self.random_start = random_start
        self.adversarial_fraction = adversarial_fraction

    # -- pixels <-> model inputs ---------------------------------------------------------------
    def _mean_std(self, inputs: torch.Tensor):
        pre = self.model.data_preprocessor
        if getattr(pre, '_enable_normalize', True) and pre.mean is not None:
            return pre.mean.to(inputs), pre.std.to(inputs)
        return inputs.new_zeros(1), inputs.new_ones(1)

    def _loss(self, inputs: torch.Tensor, data_samples) -> torch.Tensor:
        losses = self.model(inputs, data_samples, mode='loss')
        loss, _ = self.model.parse_losses(losses)
        return loss

    def perturb(self, inputs: torch.Tensor, data_samples) -> torch.Tensor:
        """PGD on the normalised batch ``inputs``: returns normalised adversarial inputs whose
        pixels are within ``eps`` of the original ones and in [0, 255]."""
        if self.steps == 0 or self.eps == 0:
            return inputs
        mean, std = self._mean_std(inputs)
        pixels = (inputs * std + mean).detach()
        radius, alpha = 255.0 * self.eps, 255.0 * self.step_size
        delta = torch.zeros_like(pixels)
        if self.random_start:
            delta.uniform_(-radius, radius)
        delta = ((pixels + delta).clamp(0, 255) - pixels).detach()
        with frozen_norm_statistics(self.model):
            for _ in range(self.steps):
                delta.requires_grad_(True)
                # Heads may annotate their data samples; each step gets a fresh copy.
                loss = self._loss((pixels + delta - mean) / std, copy.deepcopy(data_samples))
                grad, = torch.autograd.grad(loss, delta)
                # A pixel whose gradient is undefined (NaN) stays where it is, whatever the
                # installed torch's sign() makes of NaN.
                grad = torch.nan_to_num(grad, nan=0.0)
                delta = delta.detach() + alpha * grad.sign()
                delta = delta.clamp(-radius, radius)
                delta = ((pixels + delta).clamp(0, 255) - pixels).detach()
        return (pixels + delta - mean) / std

    # -- BaseModel API -------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            count = math.ceil(self.adversarial_fraction * inputs.shape[0])
            adversarial = self.perturb(inputs[:count], data_samples[:count])
            inputs = torch.cat([adversarial, inputs[count:]]) if count < inputs.shape[0] \
                else adversarial
        return self.model(inputs, data_samples, mode=mode)
