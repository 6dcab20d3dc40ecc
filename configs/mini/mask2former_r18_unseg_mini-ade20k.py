# mask2former_r18_mini-ade20k.py trained on UnSeg-protected images: the bundled tiny generator
# protects each training image online (CPU, in the dataloader workers), right after its
# annotations are loaded. Validation images stay clean.
_base_ = ['./mask2former_r18_mini-ade20k.py', './_base_/bundled_unseg_protect.py']
from unseg_mm.apis.config_utils import with_protection  # noqa: E402

train_dataloader = dict(dataset=with_protection(_base_.train_dataloader.dataset,
                                                dict(_base_.unseg_protect, format='ade20k')))
