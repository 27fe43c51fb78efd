"""voxhub: a versioned, image-oriented data service for connectomics.

>>> import voxhub, numpy as np
>>> hub = voxhub.open("memory://")           # or a directory path: an LMDB store
>>> node = hub.create_repo("demo").master
>>> vol = node.create_volume("grayscale", "uint8", max_scale=2)
>>> vol[0:64, 0:64, 0:64] = np.full((64, 64, 64), 7, np.uint8)
>>> int(vol.at_scale(1)[0, 0, 0])
7
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from voxhub import errors
    from voxhub.client import (
        CleaveResult,
        EmbeddedHub,
        Hub,
        LabelVolume,
        MergeResult,
        Mode,
        Node,
        RemoteHub,
        RenumberResult,
        Repo,
        ScaledView,
        SplitResult,
        SupervoxelSplit,
        Volume,
        open,
    )
    from voxhub.datatypes.imageblk import ImageConfig
    from voxhub.geometry import BlockGrid, Box

_CLIENT = (
    "CleaveResult",
    "EmbeddedHub",
    "Hub",
    "LabelVolume",
    "MergeResult",
    "Mode",
    "Node",
    "RemoteHub",
    "RenumberResult",
    "Repo",
    "ScaledView",
    "SplitResult",
    "SupervoxelSplit",
    "Volume",
    "open",
)

# Loaded on first use, so `import voxhub.storage` (e.g. in a worker) stays light.
_LAZY = {
    "errors": "voxhub.errors",
    **dict.fromkeys(_CLIENT, "voxhub.client"),
    "ImageConfig": "voxhub.datatypes.imageblk",
    "Box": "voxhub.geometry",
    "BlockGrid": "voxhub.geometry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'voxhub' has no attribute {name!r}")
    mod = import_module(module)
    return mod if name == "errors" else getattr(mod, name)


__all__ = [
    "BlockGrid",
    "Box",
    "CleaveResult",
    "EmbeddedHub",
    "Hub",
    "ImageConfig",
    "LabelVolume",
    "MergeResult",
    "Mode",
    "Node",
    "RemoteHub",
    "RenumberResult",
    "Repo",
    "ScaledView",
    "SplitResult",
    "SupervoxelSplit",
    "Volume",
    "__version__",
    "errors",
    "open",
]
