"""Meshes of labelmap bodies: marching cubes per octree node and level of detail
(:mod:`.octree`), neuroglancer's multi-resolution Draco format (:mod:`.multilod`) and a
body's mesh at a node from its label index (:mod:`.body`). Needs the ``mesh`` extra
(zmesh, DracoPy)."""

from __future__ import annotations

import importlib.util


def meshes_available() -> bool:
    """Whether the ``mesh`` extra is installed (the precomputed view lists meshes then)."""
    return all(importlib.util.find_spec(m) is not None for m in ("zmesh", "DracoPy"))
