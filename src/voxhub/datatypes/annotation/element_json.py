"""DVID's element JSON ⇄ :class:`~.elements.Elements`.

An element is ``{"Pos": [x, y, z], "Kind": "PreSyn", "Tags": [...], "Prop": {...},
"Rels": [{"Rel": "PreSynTo", "To": [x, y, z]}, ...]}``; answers keep DVID's key order
(Pos, Kind, Tags, Prop, Rels) and write a missing ``Tags`` as ``[]`` and ``Prop`` as
``{}``. Parsing walks the list once in Python (the fields are Python objects after
``json.loads`` anyway) and builds the columns with numpy; anything malformed is a 400
naming the element (its index and ``Pos``) and what was wrong, before anything is stored.
"""

from __future__ import annotations

import reprlib
from typing import Any

import numpy as np

from voxhub.datatypes.annotation.element_text import to_json_text
from voxhub.datatypes.annotation.elements import (
    KIND_CODE,
    KINDS,
    REL_CODE,
    RELS,
    Elements,
    check_coords,
)
from voxhub.datatypes.annotation.keys import MAX_TAG_BYTES, taggable
from voxhub.datatypes.wire.gc_pause import gc_paused
from voxhub.errors import InvalidRequest

_KIND_NAMES = ", ".join(KINDS)
_REL_NAMES = ", ".join(RELS)


def _where(i: int, item: Any) -> str:
    pos = item.get("Pos") if isinstance(item, dict) else None
    return f"element {i}" + (f" (Pos {reprlib.repr(pos)})" if pos is not None else "")


def _point(value: Any, what: str) -> list[int]:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise InvalidRequest(f"{what} must be [x, y, z] integers, got {reprlib.repr(value)}")
    return value


def _extra(i: int, item: dict[str, Any]) -> tuple[list[str], dict[str, str]] | None:
    tags = item.get("Tags")
    prop = item.get("Prop")
    if not tags and not prop:
        return None
    tags = tags or []
    prop = prop or {}
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidRequest(f"{_where(i, item)}: Tags must be a list of strings")
    for tag in tags:
        if not taggable(tag):
            raise InvalidRequest(
                f"{_where(i, item)}: tag {reprlib.repr(tag)} has more than "
                f"{MAX_TAG_BYTES} bytes (UTF-8)"
            )
    if not isinstance(prop, dict) or not all(isinstance(v, str) for v in prop.values()):
        raise InvalidRequest(f"{_where(i, item)}: Prop must be an object of string values")
    return (list(tags), dict(prop))


def parse_elements(value: Any, what: str = "elements") -> Elements:
    """The elements of a parsed JSON list (400 naming the first bad element)."""
    if not isinstance(value, list):
        raise InvalidRequest(f"{what} must be a JSON list of elements, got {type(value).__name__}")
    with gc_paused():  # a million lists and dicts are built: see gc_pause
        return _parse(value, what)


def _parse(value: list[Any], what: str) -> Elements:
    # one pass, Python lists filled and numpy arrays made at the end (assigning numpy
    # items one by one costs more than the checks), methods bound outside the loop
    n = len(value)
    xyz: list[Any] = [None] * n
    kind_list = [0] * n
    count_list = [0] * n
    rel_kinds: list[int] = []
    rel_xyz: list[Any] = []
    add_kind, add_to = rel_kinds.append, rel_xyz.append
    extra = np.full(n, None, dtype=object)
    kind_code, rel_code = KIND_CODE.get, REL_CODE.get
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidRequest(f"element {i} of {what} is not a JSON object")
        get = item.get
        pos = get("Pos")
        if pos is None:
            raise InvalidRequest(f"element {i} of {what} has no Pos")
        xyz[i] = pos
        kind = get("Kind", "Unknown")
        code = kind_code(kind) if isinstance(kind, str) else None
        if code is None:
            raise InvalidRequest(
                f"{_where(i, item)}: Kind {reprlib.repr(kind)} is not one of {_KIND_NAMES}"
            )
        kind_list[i] = code
        rels = get("Rels")
        if rels:
            if not isinstance(rels, list):
                raise InvalidRequest(f"{_where(i, item)}: Rels must be a list")
            for rel in rels:
                name = rel.get("Rel", "UnknownRelationship") if isinstance(rel, dict) else None
                rcode = rel_code(name) if isinstance(name, str) else None
                if rcode is None:
                    raise InvalidRequest(
                        f"{_where(i, item)}: relationship {reprlib.repr(rel)} must be "
                        f'{{"Rel": one of {_REL_NAMES}, "To": [x, y, z]}}'
                    )
                add_kind(rcode)
                add_to(rel.get("To"))
            count_list[i] = len(rels)
        if "Tags" in item or "Prop" in item:
            extra[i] = _extra(i, item)
    kinds = np.array(kind_list, np.uint8)
    counts = np.array(count_list, np.int64)
    pos = _points(xyz, value, lambda i: f"{_where(i, value[i])}: Pos")
    owner = np.repeat(np.arange(n), counts)
    to = _points(rel_xyz, value, lambda r: f"{_where(int(owner[r]), value[owner[r]])}: Rel To")
    start = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    check_coords(pos)
    check_coords(to, "relationship target")
    return Elements(
        pos.astype(np.int32),
        kinds,
        start,
        np.array(rel_kinds, np.uint8),
        to.astype(np.int32),
        extra,
    )


def _points(xyz: list[Any], items: list[Any], where: Any) -> np.ndarray:
    """``(N, 3)`` int32 zyx of DVID ``[x, y, z]`` lists (400 naming the first bad one)."""
    if not xyz:
        return np.zeros((0, 3), np.int32)
    try:
        arr = np.array(xyz)
        ok = arr.shape == (len(xyz), 3) and arr.dtype.kind == "i"
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        for i, p in enumerate(xyz):
            _point(p, where(i))
        raise InvalidRequest(f"{where(0)} must be [x, y, z] integers")  # pragma: no cover
    return np.ascontiguousarray(arr[:, ::-1], dtype=np.int64)


def to_json(batch: Elements, *, rels: bool = True) -> list[dict[str, Any]]:
    """DVID's JSON of each element (``Rels`` left out when ``rels`` is false)."""
    xyz = batch.pos[:, ::-1].tolist()
    kinds = [KINDS[k] for k in batch.kind.tolist()]
    extra = batch.extra.tolist()
    out: list[dict[str, Any]] = []
    if rels:
        start = batch.rel_start.tolist()
        rel_names = [RELS[k] for k in batch.rel_kind.tolist()]
        rel_xyz = batch.rel_to[:, ::-1].tolist()
    for i in range(len(kinds)):
        ex = extra[i]
        element: dict[str, Any] = {
            "Pos": xyz[i],
            "Kind": kinds[i],
            "Tags": ex[0] if ex else [],
            "Prop": ex[1] if ex else {},
        }
        if rels:
            element["Rels"] = [
                {"Rel": rel_names[r], "To": rel_xyz[r]} for r in range(start[i], start[i + 1])
            ]
        out.append(element)
    return out


__all__ = ["parse_elements", "to_json", "to_json_text"]
