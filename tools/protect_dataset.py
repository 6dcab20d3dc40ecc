"""Publish an unlearnable copy of a dataset: same layout, only the training images replaced.

See ``python tools/protect_dataset.py --help``; the command line lives in
:mod:`unseg_mm.apis.protect_cli`.
"""
import sys

from unseg_mm.apis.protect_cli import main

if __name__ == '__main__':
    sys.exit(main())
