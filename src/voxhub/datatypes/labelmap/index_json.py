"""voxhub's JSON form of a label index (``index/{label}?format=json``, the remote client).

``{"label", "blocks": {"x,y,z": {"sv": count}}, "last_mut_id", "last_mod_time",
"last_mod_user", "last_mod_app"}``: block keys are block coordinates ``x,y,z``, supervoxel
keys decimal strings. The same object is accepted by ``POST index?format=json`` (a list
of them by ``POST indices?format=json``), checked as the protobuf form is.
"""

from __future__ import annotations

import reprlib
from typing import Any

from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.wire.numbers import parse_int, parse_uint64
from voxhub.errors import InvalidRequest

_META = (
    ("last_mut_id", "mutation id"),
    ("last_mod_time", "last mod time"),
    ("last_mod_user", "last mod user"),
    ("last_mod_app", "last mod app"),
)
_COORD = 2**31


def index_to_json(index: LabelIndex, *, blocks: bool = True) -> dict[str, Any]:
    """The JSON object of ``index`` (without ``blocks`` when ``blocks`` is false)."""
    meta = index.meta
    out: dict[str, Any] = {"label": index.body}
    for name, key in _META:
        out[name] = meta.get(key, 0 if key == "mutation id" else "")
    if blocks:
        out["blocks"] = {
            f"{c[2]},{c[1]},{c[0]}": {str(sv): n for sv, n in sorted(counts.items())}
            for c, counts in sorted(index.blocks.items())
        }
    return out


def _uint(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise InvalidRequest(f"{what}: {reprlib.repr(value)} is not an unsigned 64-bit integer")
    return value


def index_from_json(value: Any, what: str = "label index") -> LabelIndex:
    """A :class:`LabelIndex` from its JSON object; 400 naming what is malformed."""
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object, got {type(value).__name__}")
    label = _uint(value.get("label"), f"{what} label")
    blocks = value.get("blocks", {})
    if not isinstance(blocks, dict):
        raise InvalidRequest(f"{what} blocks must be a JSON object")
    index = LabelIndex(label)
    for key, counts in blocks.items():
        parts = key.split(",")
        if len(parts) != 3:
            raise InvalidRequest(f"{what}: block key {reprlib.repr(key)} is not x,y,z")
        x, y, z = (parse_int(p, f"{what} block {key}", -_COORD, _COORD - 1) for p in parts)
        if not isinstance(counts, dict) or not counts:
            raise InvalidRequest(f"{what}, block {key}: counts must be a non-empty JSON object")
        index.blocks[(z, y, x)] = {
            parse_uint64(sv, f"{what} block {key} supervoxel"): _uint(n, f"{what} block {key}")
            for sv, n in counts.items()
        }
    meta = {key: value.get(name) for name, key in _META if name in value}
    if meta:
        mid = _uint(meta.get("mutation id", 0), f"{what} last_mut_id")
        texts = {k: v for k, v in meta.items() if k != "mutation id"}
        for k, v in texts.items():
            if not isinstance(v, str):
                raise InvalidRequest(f"{what}: {k} must be a string")
        index.meta = {"mutation id": mid, "last mod time": "", "last mod user": "",
                      "last mod app": "", **texts}  # fmt: skip
    return index
