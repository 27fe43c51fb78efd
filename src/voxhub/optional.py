"""Imports of optional packages, each failing with the extra that installs it.

The core numpy API needs only numpy, lmdb, zstandard, lz4 and compressed-segmentation.
Everything else comes with an extra of ``pyproject.toml`` (``server``, ``s3``, ``io``) and
is imported on first use through :func:`require`, so ``import voxhub`` and
``voxhub.open("my-store")`` work without them and a missing one says how to get it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from voxhub.errors import MissingDependency

#: Which extra brings each optional top-level package (the import name, not the PyPI one).
EXTRA_OF = {
    "starlette": "server",
    "uvicorn": "server",
    "blosc": "server",
    "jwt": "server",
    "prometheus_client": "server",
    "google": "server",  # google.protobuf
    "jsonschema": "server",
    "google_crc32c": "server",  # the Zarr view's shard index checksum (also voxhub[io])
    "obstore": "s3",
    "tifffile": "io",
    "h5py": "io",
    "PIL": "io",
    "tqdm": "io",
    "pandas": "io",
    "tensorstore": "import",
    "mmh3": "io",
    "zmesh": "mesh",
    "DracoPy": "mesh",
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming ``purpose`` and the extra.

    >>> require("json", "parsing").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        extra = EXTRA_OF.get(top)
        hint = f"pip install 'voxhub[{extra}]'" if extra else f"pip install {top}"
        message = f"{purpose} needs the {top!r} package: {hint}"
        raise MissingDependency(message, name=top) from e
