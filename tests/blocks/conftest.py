"""Make the imageblk test doubles importable here as ``tests_imageblk_fakes``."""

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).resolve().parent.parent / "imageblk" / "fakes.py"
_spec = importlib.util.spec_from_file_location("tests_imageblk_fakes", _path)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
sys.modules["tests_imageblk_fakes"] = _module
_spec.loader.exec_module(_module)
