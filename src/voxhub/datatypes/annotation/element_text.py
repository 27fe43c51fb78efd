"""DVID's element JSON written straight from the columns, for answers of many elements.

Building a dict per element and ``json.dumps`` of the list spends most of its time on
Python objects; even an f-string per element is ~3 µs. Here the answer is one
``"".join`` of a table of pieces laid out with numpy in answer order, five a row: an
element's row is ``{"Pos":[``, ``x,``, ``y,``, ``z]`` and the rest of its head for its
kind (``,"Kind":"PreSyn","Tags":[],"Prop":{},"Rels":[``); a relationship's row is its
head for its type (``{"Rel":"PreSynTo","To":[``), ``x,``, ``y,``, ``z]`` and ``},`` (or
``}`` for an element's last); the next element's first piece closes the previous one.
The coordinate pieces are taken from tables holding each coordinate value of the answer
once (a 256³ box has a few hundred), so no number is formatted twice. Elements with
``Tags`` or ``Prop`` (rare) get a head of their own (``json.dumps``, as before). The
text parses to ``to_json(batch)``; about 3x faster than one ``%``-format, 5x faster than
an f-string per element.
"""

from __future__ import annotations

import json

import numpy as np

from voxhub.datatypes.annotation.elements import KINDS, RELS, Elements

#: the rest of an element's head by kind, with and without relationships to follow
_KIND_RELS = [f',"Kind":{json.dumps(k)},"Tags":[],"Prop":{{}},"Rels":[' for k in KINDS]
_KIND = [f',"Kind":{json.dumps(k)},"Tags":[],"Prop":{{}}}}' for k in KINDS]
#: a relationship's head by type
_REL = np.array([f'{{"Rel":{json.dumps(r)},"To":[' for r in RELS], object)
#: coordinate tables cover the answer's whole range when it is at most this wide, else
#: only the values it holds
_RANGE = 1 << 16


def _coordinates(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables of ``"v,"`` and ``"v]"`` for the integers ``values`` and each value's
    index into them."""
    lo, hi = int(values.min()), int(values.max())
    if hi - lo < _RANGE:
        index = values.astype(np.int64) - lo
        distinct: list[int] | range = range(lo, hi + 1)
    else:
        found, index = np.unique(values, return_inverse=True)
        distinct = found.tolist()
    comma = np.array([f"{v}," for v in distinct], object)
    close = np.array([f"{v}]" for v in distinct], object)
    return comma, close, index.reshape(values.shape)


def _heads(batch: Elements, table: list[str], tail: str) -> np.ndarray:
    """The rest of each element's head: by kind, or its own where it has Tags or Prop."""
    heads = np.array(table, object).take(batch.kind)
    extra = batch.extra
    for i in [i for i, ex in enumerate(extra.tolist()) if ex is not None]:
        tags, prop = extra[i]
        kind = json.dumps(KINDS[batch.kind[i]])
        heads[i] = f',"Kind":{kind},"Tags":{json.dumps(tags)},"Prop":{json.dumps(prop)}{tail}'
    return heads


def to_json_text(batch: Elements, *, rels: bool = True) -> str:
    """The compact JSON list of DVID's elements (``Rels`` left out when ``rels`` is
    false); see the module docstring."""
    n = len(batch)
    if not n:
        return "[]"
    xyz = batch.pos[:, ::-1]
    to = batch.rel_to[:, ::-1] if rels else xyz[:0]
    r = len(to)
    comma, close, index = _coordinates(np.concatenate([xyz, to]))
    start = batch.rel_start if rels else np.zeros(n + 1, np.int64)
    counts = np.diff(start)
    head_row = np.arange(n) + start[:-1]  # element i, after the relationships before it
    rows = np.empty((n + r, 5), object)
    rows[head_row, 0] = ']},{"Pos":[' if rels else ',{"Pos":['
    rows[0, 0] = '{"Pos":['
    rows[head_row, 1] = comma.take(index[:n, 0])
    rows[head_row, 2] = comma.take(index[:n, 1])
    rows[head_row, 3] = close.take(index[:n, 2])
    rows[head_row, 4] = (
        _heads(batch, _KIND_RELS, ',"Rels":[') if rels else _heads(batch, _KIND, "}")
    )
    if r:
        rel_row = np.repeat(np.arange(n), counts) + 1 + np.arange(r)
        rows[rel_row, 0] = _REL.take(batch.rel_kind)
        rows[rel_row, 1] = comma.take(index[n:, 0])
        rows[rel_row, 2] = comma.take(index[n:, 1])
        rows[rel_row, 3] = close.take(index[n:, 2])
        rows[rel_row, 4] = "},"
        rows[start[1:][counts > 0] - 1 + np.arange(n)[counts > 0] + 1, 4] = "}"
    return "[" + "".join(rows.ravel().tolist()) + ("]}]" if rels else "]")
