"""An annotation instance's stored config: its block shape (DVID's ``BlockSize``) and
the instances it syncs to (``"sync"``, kept by :mod:`voxhub.datatypes.sync_config`)."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.sync_config import sync_from_settings
from voxhub.datatypes.wire.dvid_settings import FromSettings, parse_xyz
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3

DEFAULT_BLOCK = 64
#: the DVID settings an annotation uses (lower-cased)
USED_SETTINGS = frozenset({"blocksize", "sync"})


def block_shape(config: dict[str, Any]) -> Vec3:
    """The element blocks' shape ``(z, y, x)``."""
    shape = config.get("block_shape", [DEFAULT_BLOCK] * 3)
    return (int(shape[0]), int(shape[1]), int(shape[2]))


def new_config(shape: Vec3 = (DEFAULT_BLOCK,) * 3, sync: list[str] | None = None) -> dict[str, Any]:
    """The config of a new instance (checked)."""
    config: dict[str, Any] = {"block_shape": list(shape)}
    if sync:
        config["sync"] = list(sync)
    return check_config("annotation", config)


def check_config(typename: str, config: dict[str, Any]) -> dict[str, Any]:
    """A posted config checked as the constructor checks it."""
    shape = config.get("block_shape", [DEFAULT_BLOCK] * 3)
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in shape)
    ):
        raise InvalidRequest(f"annotation block_shape must be 3 integers in 1..4096, got {shape!r}")
    out = dict(config)
    out["block_shape"] = list(shape)
    return out


def config_from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    """DVID's creation settings (``BlockSize``: one number or ``x,y,z``; ``Sync``)."""
    config: dict[str, Any] = {}
    if "blocksize" in settings:
        config["block_shape"] = [int(v) for v in parse_xyz("BlockSize", settings["blocksize"], int)]
    config.update(sync_from_settings(settings))
    ignored = frozenset(settings) - USED_SETTINGS
    return FromSettings(check_config(typename, config), ignored)
