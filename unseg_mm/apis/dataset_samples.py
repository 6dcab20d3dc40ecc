"""The offline tool's input side: which images a dataset's training split has, how each is loaded
(the stock dataset classes and loading transforms of its format), and whether its file is whole.
"""
import os.path as osp
from typing import List, Optional, Sequence

from .dataset_formats import FormatSpec


def build_samples(spec: FormatSpec, src: str) -> List[dict]:
    """The training samples (dataset data infos, first occurrence of each image wins)."""
    from mmengine.registry import DefaultScope
    if spec.scope == 'mmseg':
        from mmseg.registry import DATASETS
        from mmseg.utils import register_all_modules
    else:
        from mmdet.registry import DATASETS
        from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    samples, seen = [], set()
    with DefaultScope.overwrite_default_scope(spec.scope):
        for cfg in spec.datasets:
            dataset = DATASETS.build(dict(cfg, data_root=src, pipeline=[], serialize_data=False))
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                key = osp.normpath(info['img_path'])
                if key in seen:
                    continue
                seen.add(key)
                samples.append(info)
    return samples


def loading_pipeline(spec: FormatSpec):
    """The format's loading transforms (what a stock training pipeline reads first)."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(spec.scope):
        return Compose([dict(t) for t in spec.loading])


def class_ids(spec: FormatSpec, names: Optional[Sequence[str]]) -> Optional[List[int]]:
    """Label ids (as loaded) of class ``names``; unknown names are an error listing the classes.

    ``stuff`` stands for the format's stuff classes (Cityscapes' classes without instances,
    ADE20K's panoptic stuff classes, COCO panoptic's ``stuff_classes``)."""
    if not names:
        return None
    from mmengine.registry import DefaultScope
    registry_module = 'mmseg.registry' if spec.scope == 'mmseg' else 'mmdet.registry'
    datasets = __import__(registry_module, fromlist=['DATASETS']).DATASETS
    with DefaultScope.overwrite_default_scope(spec.scope):
        dataset_cls = datasets.get(spec.datasets[0]['type'])
    classes = list(dataset_cls.METAINFO['classes'])
    stuff = list(spec.stuff_classes or dataset_cls.METAINFO.get('stuff_classes', ()))
    ids = []
    for name in names:
        if name.isdigit():
            ids.append(int(name))
        elif name in classes:
            ids.append(classes.index(name))
        elif name == 'stuff':
            if not stuff:
                raise ValueError(f'{dataset_cls.__name__} has no stuff classes in its metadata; '
                                 f'name the classes instead, from: {classes}')
            ids += [classes.index(n) for n in stuff]
        else:
            raise ValueError(f'unknown class {name!r}; classes of this format: {classes}')
    return ids


def check_image_file(path: str) -> None:
    """Raise ``ValueError`` if ``path`` is not a complete image file.

    OpenCV decodes a truncated JPEG with a grey fill and only a warning on stderr; publishing it
    would silently ship a damaged image. PIL decodes the whole file with truncated images refused.
    """
    from PIL import Image, ImageFile
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError('PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set in this process; the '
                           'tool cannot detect truncated images')
    try:
        with Image.open(path) as img:
            if img.format == 'JPEG':
                # a decode at 1/8 scale reads every entropy-coded byte as a full one does (a
                # truncated file is refused alike) at about half the cost
                img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f'the image file is corrupt or truncated ({exc}); replace it with a '
                         f'complete copy or remove it from the split') from None
