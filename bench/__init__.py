"""Benchmarks (`make bench`): each figure against a baseline from the same run."""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "core")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
