"""HQSeg-44K-style interactive segmentation data: image folders paired with binary mask folders.

HQSeg-44K (the SAM-HQ training set, used by UnSeg to train its generator) is a union of subsets
(DIS5K, ThinObject5K, FSS-1000, DUTS, ECSSD, MSRA10K), each an image folder and a mask folder,
matched by file stem; every mask is a single-channel 0/255 PNG of one object.
"""
import os
import os.path as osp
from typing import List, Sequence

from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS


@DATASETS.register_module()
class HQSegDataset(BaseDataset):
    """Images with one binary object mask each, from one or more HQSeg-style subsets.

    Args:
        subsets: list of dicts with ``im_dir`` and ``gt_dir`` (relative to ``data_root``) and
            optional ``im_ext`` (default ``.jpg``) and ``gt_ext`` (default ``.png``). Image and
            mask folders may be the same folder (as in DUTS-TR), told apart by extension.
        data_root, pipeline, test_mode, ...: as :class:`mmengine.dataset.BaseDataset`.

    Each sample is ``dict(img_path, mask_path, subset)``. An image without its mask raises a
    ``FileNotFoundError`` naming both files (a silently skipped pair would change the training
    set without anyone noticing).
    """

    METAINFO = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, subsets: Sequence[dict], **kwargs) -> None:
        self.subsets = [dict(s) for s in subsets]
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = []
        for subset in self.subsets:
            im_dir = osp.join(self.data_root, subset['im_dir'])
            gt_dir = osp.join(self.data_root, subset['gt_dir'])
            im_ext = subset.get('im_ext', '.jpg')
            gt_ext = subset.get('gt_ext', '.png')
            if not osp.isdir(im_dir):
                raise FileNotFoundError(
                    f'HQSeg image folder {im_dir!r} does not exist; check data_root '
                    f'({self.data_root!r}) and the subset im_dir {subset["im_dir"]!r}')
            if not osp.isdir(gt_dir):
                raise FileNotFoundError(
                    f'HQSeg mask folder {gt_dir!r} does not exist; check data_root '
                    f'({self.data_root!r}) and the subset gt_dir {subset["gt_dir"]!r}')
            stems = sorted(f[:-len(im_ext)] for f in os.listdir(im_dir) if f.endswith(im_ext))
            if not stems:
                raise FileNotFoundError(f'no {im_ext} images in HQSeg folder {im_dir!r}')
            for stem in stems:
                mask_path = osp.join(gt_dir, stem + gt_ext)
                if not osp.isfile(mask_path):
                    raise FileNotFoundError(
                        f'image {osp.join(im_dir, stem + im_ext)!r} has no mask {mask_path!r}; '
                        f'add the mask or remove the image from the subset')
                data_list.append(
                    dict(img_path=osp.join(im_dir, stem + im_ext), mask_path=mask_path,
                         subset=subset['im_dir']))
        return data_list

    def _join_prefix(self) -> None:
        # Subset folders are joined with data_root in load_data_list.
        if self.data_root is not None and not osp.isdir(self.data_root):
            raise FileNotFoundError(f'HQSeg data_root {self.data_root!r} is not a folder')

