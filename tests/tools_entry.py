"""Import the command-line tools (tools/ is a folder of scripts, not a package)."""
import importlib.util
import os.path as osp

TOOLS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools')


def _load(name):
    spec = importlib.util.spec_from_file_location(f'unseg_tools_{name}', osp.join(TOOLS, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


protect_main = _load('protect_dataset').main  # the script, as users run it
pretrain_tool = _load('pretrain_mini_backbone')
