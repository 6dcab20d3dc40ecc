"""Pretrain a mini backbone on the natural world's outline-family classification set.

The counterpart of an ImageNet checkpoint for the mini benchmark's models (see
``unseg_mm.datasets.pretraining``). The backbone is built from its mmseg/mmdet config, trained
with a global-pool linear classifier, and saved as a plain tensor state dict that the stock
``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads (``weights_only``-safe).
"""
import math
import time
from typing import Callable, Dict, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The mean/std every mini config normalises with (the stock ImageNet values, 0-255 scale).
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def build_backbone(cfg: Dict) -> nn.Module:
    """The backbone described by ``cfg`` (an mmseg or mmdet backbone config dict)."""
    import mmseg.models  # noqa: F401  (registers the backbones)
    from mmseg.registry import MODELS
    return MODELS.build(dict(cfg))


class _Classifier(nn.Module):

    def __init__(self, backbone: nn.Module, channels: int, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x):
        feats = self.backbone(x)
        return self.head(F.adaptive_avg_pool2d(feats[-1], 1).flatten(1))


def _batch(images: np.ndarray, index: np.ndarray, rng: np.random.Generator,
           augment: bool) -> torch.Tensor:
    x = torch.from_numpy(images[index]).permute(0, 3, 1, 2).float()
    if augment:
        flip = torch.from_numpy(rng.random(len(index)) < 0.5)
        x[flip] = x[flip].flip(-1)
        # Random shift of up to 1/8 of the side (reflect padding), as a crop would.
        pad = images.shape[1] // 8
        dx, dy = (int(v) for v in rng.integers(-pad, pad + 1, 2))
        x = torch.roll(F.pad(x, (pad, pad, pad, pad), mode='reflect'), (dy, dx), (2, 3))
        x = x[..., pad:-pad, pad:-pad]
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray,
             batch_size: int = 256) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            index = np.arange(start, min(start + batch_size, len(images)))
            logits = model(_batch(images, index, None, augment=False))
            correct += int((logits.argmax(1).numpy() == labels[index]).sum())
    model.train()
    return correct / max(1, len(images))


def pretrain_backbone(backbone_cfg: Dict, channels: int, train: tuple, val: tuple,
                      iters: int, batch_size: int = 64, lr: float = 0.1,
                      weight_decay: float = 5e-4, seed: int = 0, eval_every: int = 500,
                      log: Optional[Callable[[str], None]] = print) -> Dict:
    """Train ``backbone_cfg`` + a linear head on ``train = (images, labels)``; return
    ``{'state_dict': backbone weights, 'meta': {...}}`` with the val accuracy over training."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    images, labels = train
    num_classes = int(labels.max()) + 1
    model = _Classifier(build_backbone(backbone_cfg), channels, num_classes)
    model.backbone.init_weights()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                                weight_decay=weight_decay, nesterov=True)
    target = torch.from_numpy(labels)
    history = []
    start = time.time()
    order = rng.permutation(len(images))
    cursor = 0
    for it in range(1, iters + 1):
        if cursor + batch_size > len(order):
            order, cursor = rng.permutation(len(images)), 0
        index = order[cursor:cursor + batch_size]
        cursor += batch_size
        for group in optimizer.param_groups:  # linear warm-up, then cosine decay
            group['lr'] = lr * min(1.0, it / max(1, iters // 20)) * \
                0.5 * (1 + math.cos(math.pi * it / iters))
        loss = F.cross_entropy(model(_batch(images, index, rng, augment=True)), target[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if it % eval_every == 0 or it == iters:
            acc = accuracy(model, *val)
            history.append(dict(iter=it, loss=round(loss.item(), 4), val_accuracy=round(acc, 4),
                                seconds=round(time.time() - start, 1)))
            if log:
                log(f'[pretrain] iter {it}/{iters} loss {loss.item():.3f} '
                    f'val accuracy {acc:.3f} ({time.time() - start:.0f} s)')
    state = {k: v.detach().clone() for k, v in model.backbone.state_dict().items()}
    return dict(state_dict=state,
                meta=dict(num_classes=num_classes, iters=iters, batch_size=batch_size, lr=lr,
                          seed=seed, history=history, chance=1.0 / num_classes))
