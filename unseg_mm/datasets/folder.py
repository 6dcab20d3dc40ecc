"""A plain folder of images with label masks: the ``folder`` format of tools/protect_dataset.py."""
import os
import os.path as osp
from typing import List

from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class FolderMaskDataset(BaseDataset):
    """``images/**/<name>.<ext>`` with ``masks/**/<name>.png`` under ``data_root``.

    Masks are label PNGs (0 background, 255 ignore, every other value one object class), read by
    mmseg's ``LoadAnnotations``. An image whose mask is missing still becomes a sample, so the
    loading step reports the missing file by name instead of the image silently disappearing.
    """

    METAINFO = dict(classes=tuple(str(i) for i in range(256)))

    def __init__(self, img_dir: str = 'images', mask_dir: str = 'masks', **kwargs) -> None:
        self.img_dir = img_dir
        self.mask_dir = mask_dir
        super().__init__(**kwargs)

    def _join_prefix(self) -> None:
        if not osp.isdir(osp.join(self.data_root, self.img_dir)):
            raise FileNotFoundError(f'image folder {osp.join(self.data_root, self.img_dir)!r} '
                                    f'does not exist')

    def load_data_list(self) -> List[dict]:
        images_root = osp.join(self.data_root, self.img_dir)
        data_list = []
        for folder, dirs, files in os.walk(images_root):
            dirs.sort()
            for name in sorted(files):
                stem, ext = osp.splitext(name)
                if ext.lower() not in IMAGE_EXTENSIONS:
                    continue
                rel_dir = osp.relpath(folder, images_root)
                data_list.append(dict(
                    img_path=osp.join(folder, name),
                    seg_map_path=osp.normpath(osp.join(self.data_root, self.mask_dir, rel_dir,
                                                       stem + '.png')),
                    label_map=None,
                    reduce_zero_label=False,
                    seg_fields=[]))
        return data_list
