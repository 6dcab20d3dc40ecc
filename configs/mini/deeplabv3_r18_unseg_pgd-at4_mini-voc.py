# Defence: PGD adversarial training on the (UnSeg-protected) training images, L-inf radius
# 4/255, 5 steps (the wrapper's default step is 2.5 * eps / steps). Validation is unchanged.
_base_ = './deeplabv3_r18_unseg_mini-voc.py'
from unseg_mm.apis.config_utils import with_adversarial_training  # noqa: E402

model = with_adversarial_training(_base_.model, eps=4 / 255, steps=5)
