"""UnSegBilevel: the min-min training of the generator against a from-scratch SAM surrogate."""
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from mmengine.registry import MODELS
from mmengine.structures import PixelData

from .losses import point_sampled_mask_loss
from .perturbation import budget_region, scale_noise
from .prompts import PROMPT_TYPES, Prompts, random_prompt_types, sample_prompts

SURROGATE = 'surrogate'
GENERATOR = 'generator'
# The surrogate's prompt types: SAM's three, and 'frame' (a box around the whole frame: the
# surrogate is told nothing of where the object is, as a semantic segmenter is not).
SURROGATE_PROMPT_TYPES = PROMPT_TYPES + ('frame', )


@contextmanager
def frozen(module: torch.nn.Module):
    """Temporarily stop gradients into ``module``'s parameters (restoring their flags after)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


@MODELS.register_module()
class UnSegBilevel(BaseModel):
    """Bilevel min-min optimisation: both levels minimise the surrogate's mask loss.

    Surrogate phases train the surrogate on perturbed images (generator frozen); generator phases
    train the generator's noise decoder through the frozen surrogate. Phases alternate in blocks of
    ``alternation['surrogate']`` then ``alternation['generator']`` units, a unit being an epoch (as
    the reference: 1 surrogate epoch, then 3 generator epochs) or an iteration.

    Args:
        generator, surrogate: configs of :class:`UnSegGenerator` and :class:`SAMSurrogate`.
        data_preprocessor: config of :class:`UnSegDataPreprocessor` (frame = generator size).
        eps_object, eps_background: training L-inf budgets inside / outside the object, in [0, 1]
            intensity units (UnSeg trains at 1/255 and 0.25/255 and generates at larger budgets,
            "epsilon generalisation").
        alternation: ``dict(by='epoch'|'iter', surrogate=int, generator=int)``.
        generator_target: ``'ones'`` (the released code: push the surrogate to predict the whole
            image as object) or ``'gt'`` (the paper's text: minimise the surrogate's loss on the
            ground truth).
        num_prompt_points: positive points per point prompt.
        loss_points, oversample_ratio, importance_sample_ratio: point sampling of the mask loss
            (112 x 112 points for ViT-B as SAM-HQ).
        val_prompt: prompt type the surrogate gets at validation (the reference validates with
            boxes on perturbed images); one of ``SURROGATE_PROMPT_TYPES``.
        surrogate_prompts: the prompt types the surrogate is trained with, one drawn at random
            per batch (the reference: box, point, mask). Adding ``'frame'`` makes the surrogate
            find the object with no hint of where it is, as the target models must (a semantic
            segmenter gets no prompt); with ``('frame', )`` only, the min-min has to put the
            object's whereabouts into the noise wherever the image alone does not tell it.
        surrogate_rescale: ``None`` (off) or ``(low, high)`` with ``0 < low <= high <= 1``: in
            training, every batch of perturbed images is resampled (bilinear, antialiased) to a
            random fraction in ``[low, high]`` of the surrogate's frame and back before the
            surrogate sees it (both levels). Target models train with random down-scaling
            (mmseg's ``RandomResize``, ratios 0.5-2.0), which erases patterns finer than a few
            pixels; this makes the min-min prefer patterns that survive it. Validation is not
            rescaled.
        noise_probe: ``None`` (off) or the config of a :class:`NoiseProbe`: a third player that
            reads the object mask from the perturbation alone (no image). It trains with the
            surrogate (on the detached perturbation), and the generator minimises its loss too,
            weighted by ``noise_probe_weight``: the min-min then also asks for a pattern that a
            shallow local model tells apart on objects and background - a mark a target network
            can take as a shortcut - instead of only one the (much stronger) surrogate can use.
            Needs a ``noise_probe`` entry in ``optim_wrapper``. It sees the perturbation at the
            surrogate's frame, divided by ``eps_object``, before ``surrogate_rescale``.
        noise_probe_weight: weight of the probe's loss in the generator's objective.
        image_logit_cap: 0 (off) or C: with region tiles in the noise decoder, the generator's
            objective adds ``image_logit_cap_weight * relu(rms - C) ** 2``, ``rms`` the
            root-mean-square of the decoder's image-dependent logits (before any
            ``image_logit_bound``). A soft alternative to the hard bound: in the runs that
            protected that part stayed at RMS 2-8 beside tiles of RMS 2, in those that did not
            it grew to 24-91 and saturated the tanh over the tiles; a hard bound of 1 turned it
            into a sign pattern and protected less. With a cap of 3, two runs that had run
            away (0.98 and 0.81 of clean on VOC) stayed at RMS 0.5-3 and cost 0.71 and 0.67;
            on a draw of the bundled recipe that had not (RMS 6.4, 0.53) it changed little (0.45).
            The penalty is logged as ``loss_image_logit_cap``.
        image_logit_cap_weight: weight of that penalty.
    """

    def __init__(self,
                 generator: dict,
                 surrogate: dict,
                 data_preprocessor: Optional[dict] = None,
                 eps_object: float = 1 / 255,
                 eps_background: float = 0.25 / 255,
                 alternation: Optional[dict] = None,
                 generator_target: str = 'ones',
                 num_prompt_points: int = 10,
                 loss_points: int = 112 * 112,
                 oversample_ratio: float = 3.0,
                 importance_sample_ratio: float = 0.75,
                 val_prompt: str = 'box',
                 surrogate_rescale: Optional[tuple] = None,
                 surrogate_prompts: Sequence[str] = PROMPT_TYPES,
                 noise_probe: Optional[dict] = None,
                 noise_probe_weight: float = 1.0,
                 image_logit_cap: float = 0.0,
                 image_logit_cap_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.generator = MODELS.build(generator)
        self.generator.save_frozen_weights = False
        self.surrogate = MODELS.build(surrogate)
        # Kept here: under MMSeparateDistributedDataParallel the sub-models are DDP-wrapped.
        self.surrogate_size = self.surrogate.img_size
        if generator_target not in ('ones', 'gt'):
            raise ValueError(f"generator_target must be 'ones' or 'gt', got {generator_target!r}")
        alternation = {**dict(by='epoch', surrogate=1, generator=3), **(alternation or {})}
        if alternation['by'] not in ('epoch', 'iter') or min(alternation['surrogate'],
                                                             alternation['generator']) < 0 or \
                alternation['surrogate'] + alternation['generator'] == 0:
            raise ValueError(f'bad alternation {alternation}')
        self.alternation = alternation
        self.eps_object = eps_object
        self.eps_background = eps_background
        self.generator_target = generator_target
        self.num_prompt_points = num_prompt_points
        self.loss_cfg = dict(num_points=loss_points, oversample_ratio=oversample_ratio,
                             importance_sample_ratio=importance_sample_ratio)
        surrogate_prompts = tuple(surrogate_prompts)
        for types, what in ((surrogate_prompts, 'surrogate_prompts'),
                            ((val_prompt, ), 'val_prompt')):
            bad = [t for t in types if t not in SURROGATE_PROMPT_TYPES]
            if bad or not types or len(set(types)) != len(types):
                raise ValueError(f'{what} must name distinct types of {SURROGATE_PROMPT_TYPES}, '
                                 f'got {types!r}')
        self.surrogate_prompts = surrogate_prompts
        self.val_prompt = val_prompt
        if surrogate_rescale is not None:
            low, high = (float(v) for v in surrogate_rescale)
            if not 0 < low <= high <= 1:
                raise ValueError(f'surrogate_rescale must be (low, high) with '
                                 f'0 < low <= high <= 1, got {surrogate_rescale!r}')
            surrogate_rescale = (low, high)
        self.surrogate_rescale = surrogate_rescale
        # Built last, so that the other players' initialisation does not depend on it.
        self.noise_probe = MODELS.build(noise_probe) if noise_probe is not None else None
        if noise_probe_weight < 0:
            raise ValueError(f'noise_probe_weight must be >= 0, got {noise_probe_weight}')
        self.noise_probe_weight = float(noise_probe_weight)
        if image_logit_cap < 0 or image_logit_cap_weight < 0:
            raise ValueError(f'image_logit_cap and image_logit_cap_weight must be >= 0, got '
                             f'{image_logit_cap}, {image_logit_cap_weight}')
        if image_logit_cap and not self.generator.region_texture:
            raise ValueError('image_logit_cap limits the image-dependent logits beside the '
                             "region tiles; set the generator's region_texture too")
        self.image_logit_cap = float(image_logit_cap)
        self.image_logit_cap_weight = float(image_logit_cap_weight)

    # ------------------------------------------------------------------------------------------
    def phase(self, counter: Optional[int] = None) -> str:
        """Which level trains at epoch/iteration ``counter`` (default: the current one)."""
        if counter is None:
            counter = MessageHub.get_current_instance().get_info(self.alternation['by'], 0)
        period = self.alternation['surrogate'] + self.alternation['generator']
        return SURROGATE if counter % period < self.alternation['surrogate'] else GENERATOR

    def perturb(self, images: torch.Tensor, masks: torch.Tensor, prompts: Prompts,
                size: int, with_delta: bool = False):
        """Perturbed images at ``size`` px: the generator's pattern within the training budget.

        Args:
            images, masks: B x 3 x S x S in [0, 1] and B x 1 x S x S object masks (S = generator
                frame); ``masks`` define the budget regions.
            prompts: the generator's prompts, in its frame.
            with_delta: also return the perturbation as applied (after clipping to [0, 1]).
        """
        noise = self.generator(images, prompts, region=budget_region(masks, images.shape[-2:]))
        small = F.interpolate(images, size=(size, size), mode='bilinear', align_corners=False)
        delta = scale_noise(noise, budget_region(masks, (size, size)), self.eps_object,
                            self.eps_background)
        perturbed = (small + delta).clamp(0, 1)
        return (perturbed, perturbed - small) if with_delta else perturbed

    def probe_loss(self, delta: torch.Tensor, soft_target: torch.Tensor) -> torch.Tensor:
        """The noise probe's mask loss on a perturbation ``delta`` (surrogate frame)."""
        logits = self.noise_probe(delta / self.eps_object)
        return point_sampled_mask_loss(logits, soft_target, **self.loss_cfg)

    def _probe_wrapper(self, optim_wrapper: OptimWrapperDict):
        if 'noise_probe' not in optim_wrapper.keys():
            raise KeyError("UnSegBilevel has a noise_probe but optim_wrapper has no 'noise_probe' "
                           "entry; add noise_probe=dict(type='OptimWrapper', optimizer=...) to "
                           "the config's optim_wrapper")
        return optim_wrapper['noise_probe']

    def rescale(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` resampled through a random smaller size and back (``surrogate_rescale``).

        The fraction is drawn once per batch from torch's global generator (seeded by the
        runner), so runs stay reproducible.
        """
        if self.surrogate_rescale is None:
            return images
        low, high = self.surrogate_rescale
        size = images.shape[-1]
        fraction = low + (high - low) * float(torch.rand(()))
        small = max(1, round(size * fraction))
        if small >= size:
            return images
        down = F.interpolate(images, size=(small, small), mode='bilinear', align_corners=False,
                             antialias=True)
        return F.interpolate(down, size=images.shape[-2:], mode='bilinear', align_corners=False)

    def _generator_prompts(self, masks: torch.Tensor) -> Prompts:
        types = random_prompt_types(None, subset=True)
        return sample_prompts(masks, types, self.num_prompt_points)

    def _surrogate_prompts(self, hard: torch.Tensor, prompt_type: str) -> Prompts:
        """Prompts of one ``SURROGATE_PROMPT_TYPES`` type for B x 1 x S x S masks."""
        if prompt_type == 'frame':
            b, _, h, w = hard.shape
            frame = torch.tensor([0., 0., float(w), float(h)], device=hard.device)
            return Prompts(boxes=frame.expand(b, 4).clone())
        return sample_prompts(hard, (prompt_type, ), self.num_prompt_points)

    def _surrogate_batch(self, masks: torch.Tensor):
        size = self.surrogate_size
        soft = F.interpolate(masks, size=(size, size), mode='bilinear', align_corners=False)
        hard = budget_region(masks, (size, size))
        if self.surrogate_prompts == PROMPT_TYPES:  # the reference's draw (same random stream)
            return soft, sample_prompts(hard, random_prompt_types(None, subset=False),
                                        self.num_prompt_points)
        pick = int(torch.randint(len(self.surrogate_prompts), (1, )))
        return soft, self._surrogate_prompts(hard, self.surrogate_prompts[pick])

    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        data = self.data_preprocessor(data, True)
        images, masks = data['images'], data['masks']
        soft_target, sur_prompts = self._surrogate_batch(masks)
        gen_prompts = self._generator_prompts(masks)
        phase = self.phase()
        probe = self.noise_probe is not None
        if phase == SURROGATE:
            wrapper = optim_wrapper[SURROGATE]
            with wrapper.optim_context(self.surrogate):
                with torch.no_grad():
                    perturbed, delta = self.perturb(images, masks, gen_prompts,
                                                    self.surrogate_size, with_delta=True)
                    perturbed = self.rescale(perturbed)
                logits = self.surrogate(perturbed, sur_prompts)
                loss = point_sampled_mask_loss(logits, soft_target, **self.loss_cfg)
            wrapper.update_params(loss)
            log = dict(loss_surrogate=loss.detach())
            if probe:
                probe_wrapper = self._probe_wrapper(optim_wrapper)
                with probe_wrapper.optim_context(self.noise_probe):
                    probe_loss = self.probe_loss(delta, soft_target)
                probe_wrapper.update_params(probe_loss)
                log['loss_probe'] = probe_loss.detach()
            return log
        wrapper = optim_wrapper[GENERATOR]
        with wrapper.optim_context(self.generator), frozen(self.surrogate):
            perturbed, delta = self.perturb(images, masks, gen_prompts, self.surrogate_size,
                                            with_delta=True)
            logits = self.surrogate(self.rescale(perturbed), sur_prompts)
            target = torch.ones_like(soft_target) if self.generator_target == 'ones' \
                else soft_target
            loss = point_sampled_mask_loss(logits, target, **self.loss_cfg)
            log = dict(loss_generator=loss.detach())
            if self.generator.region_texture:
                log['image_logit_rms'] = self.generator.mask_decoder.image_logit_rms
            if self.image_logit_cap:
                excess = self.generator.mask_decoder.image_logit_rms_raw - self.image_logit_cap
                cap_loss = torch.relu(excess).pow(2)
                log['loss_image_logit_cap'] = cap_loss.detach()
                loss = loss + self.image_logit_cap_weight * cap_loss
            if probe:
                with frozen(self.noise_probe):
                    probe_loss = self.probe_loss(delta, soft_target)
                log['loss_generator_probe'] = probe_loss.detach()
                loss = loss + self.noise_probe_weight * probe_loss
        wrapper.update_params(loss)
        return log

    # ------------------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, masks: torch.Tensor, data_samples: List = None,
                mode: str = 'predict'):
        """``predict``: the surrogate's masks on perturbed images (validation of both levels).

        The generator is prompted with the object mask (as at generation time); the surrogate
        with ``val_prompt``. Predictions are written as ``pred_sem_seg`` (0/1) at each sample's
        unpadded size, so mmseg's ``IoUMetric`` scores them.
        """
        if mode != 'predict':
            raise ValueError(f'UnSegBilevel trains through train_step; forward mode {mode!r} is '
                             f'not supported')
        size = self.surrogate_size
        perturbed = self.perturb(images, masks, Prompts(masks=masks), size)
        prompts = self._surrogate_prompts(budget_region(masks, (size, size)), self.val_prompt)
        logits = self.surrogate(perturbed, prompts)
        logits = F.interpolate(logits, size=images.shape[-2:], mode='bilinear',
                               align_corners=False)
        for sample, logit in zip(data_samples, logits):
            h, w = sample.gt_sem_seg.shape
            sample.pred_sem_seg = PixelData(data=(logit[:, :h, :w] > 0).long())
        return data_samples
