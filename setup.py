"""unseg_mm: UnSeg unlearnable examples for image segmentation on the OpenMMLab 2.x stack."""
from setuptools import find_packages, setup

# Version ranges the code supports; the exact tested combination is pinned in
# requirements/constraints.txt and installed by tools/setup_env.sh.
install_requires = [
    'torch>=2.1,<2.14',  # mmcv 2.1.0's ops do not compile against torch >= 2.14 (C++20 headers)
    'torchvision',
    'mmengine>=0.10.4,<0.11',
    'mmcv>=2.1.0,<2.2.0',  # the range both mmseg 1.2.2 and mmdet 3.3.0 assert at import
    'mmsegmentation==1.2.2',
    'mmdet==3.3.0',
    'segment-anything==1.0',
    'pycocotools>=2.0.7',
    'cityscapesscripts>=2.2',
    'numpy<2',
    'opencv-python',
    'pillow<13',  # cityscapesscripts 2.3.0 writes mode-I PNGs, refused by Pillow 13
    'scipy',
    'tqdm',
    'matplotlib',
    'safetensors',
    # mmseg 1.2.2 imports these at `import mmseg.models` without declaring them.
    'ftfy',
    'regex',
    'setuptools>=77,<81',  # mmengine 0.10.7 imports pkg_resources at run time
]

setup(
    name='unseg_mm',
    version='0.1.0',
    description='UnSeg: one universal unlearnable example generator against image segmentation, '
                'for OpenMMLab',
    packages=find_packages(include=['unseg_mm', 'unseg_mm.*']),
    python_requires='>=3.10',
    install_requires=install_requires,
    extras_require={'tests': ['pytest>=8', 'pytest-timeout']},
    include_package_data=True,
    zip_safe=False,
)
