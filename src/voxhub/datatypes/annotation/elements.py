"""Point elements in columns: what the annotation datatype stores, moves and answers.

An :class:`Elements` batch keeps DVID's element fields as numpy columns so that a batch
of a million synapses is grouped by block, merged with what is stored and encoded without
a Python object per element: positions ``(N, 3)`` int32 in ``(z, y, x)`` (DVID's ``Pos``
is ``[x, y, z]``; converted at the JSON edge, :mod:`.element_json`), kinds as uint8 codes,
relationships as a flat table (``rel_start`` offsets per element, ``rel_kind`` codes,
``rel_to`` positions) and the rarely set ``Tags``/``Prop`` as one object column holding
``None`` or ``(tags, prop)``.

Each position also has a *key*: one int64 packing ``z, y, x`` (20 bits each, biased), so
that "which of these positions are stored" is one ``np.isin``. Positions are therefore
limited to ``[-2**19, 2**19)`` along each axis (4 mm at 8 nm voxels), and keys stay below
``2**60`` (see :func:`voxhub.datatypes.annotation.derived.pairs_view`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from voxhub.errors import InvalidRequest

#: DVID's element kinds, by their stored code (DVID's ``ElementType`` numbering)
KINDS = ("Unknown", "PostSyn", "PreSyn", "Gap", "Note")
KIND_CODE = {name: code for code, name in enumerate(KINDS)}
#: DVID's relationship types, by their stored code (DVID's ``RelationType`` numbering)
RELS = ("UnknownRelationship", "PostSynTo", "PreSynTo", "ConvergentTo", "GroupedWith")
REL_CODE = {name: code for code, name in enumerate(RELS)}

_BITS = 20
_BIAS = 1 << (_BITS - 1)
_MASK = (1 << _BITS) - 1
#: smallest and largest coordinate an element may have, along every axis
COORD_MIN, COORD_MAX = -_BIAS, _BIAS - 1

Extra = tuple[list[str], dict[str, str]] | None


def check_coords(pos: np.ndarray, what: str = "element position") -> None:
    """Refuse positions outside ``[COORD_MIN, COORD_MAX]`` (400 naming the first)."""
    if pos.size and (pos.min() < COORD_MIN or pos.max() > COORD_MAX):
        bad = pos[np.any((pos < COORD_MIN) | (pos > COORD_MAX), axis=1)][0]
        raise InvalidRequest(
            f"{what} {format_pos(bad)} is outside the supported range "
            f"{COORD_MIN}..{COORD_MAX} along each axis"
        )


def pos_keys(pos: np.ndarray) -> np.ndarray:
    """int64 keys of ``(N, 3)`` zyx positions (sorting keys sorts positions z, y, x)."""
    p = pos.astype(np.int64) + _BIAS
    return (p[:, 0] << (2 * _BITS)) | (p[:, 1] << _BITS) | p[:, 2]


def key_positions(keys: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pos_keys`: ``(N, 3)`` int32 zyx."""
    k = np.asarray(keys, dtype=np.int64)
    out = np.empty((len(k), 3), dtype=np.int32)
    out[:, 0] = (k >> (2 * _BITS)) - _BIAS
    out[:, 1] = ((k >> _BITS) & _MASK) - _BIAS
    out[:, 2] = (k & _MASK) - _BIAS
    return out


def format_pos(zyx: Any) -> str:
    """A position as DVID writes it: ``[x, y, z]``."""
    z, y, x = (int(v) for v in zyx)
    return f"[{x}, {y}, {z}]"


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each start and count (vectorised)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)
    out: np.ndarray = np.repeat(starts.astype(np.int64), counts) + offsets
    return out


#: the columns an :class:`Elements` may decode only when asked for: ``rel_start``,
#: ``rel_kind``, ``rel_to``, ``extra``
Rest = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Elements:
    """A columnar batch of elements (see the module docstring).

    ``pos`` and ``kind`` are always there; the relationship table and ``extra`` (the
    *rest*) may be deferred (:meth:`deferred`): a box query answers positions and kinds
    of a hundred thousand elements without decoding their relationships, and decodes
    them (once) when something reads them. :meth:`take` and :func:`concat` of deferred
    batches stay deferred.
    """

    __slots__ = ("_load", "_rest", "kind", "pos")

    def __init__(
        self,
        pos: np.ndarray,  # (N, 3) int32 zyx
        kind: np.ndarray,  # (N,) uint8
        rel_start: np.ndarray,  # (N + 1,) int64
        rel_kind: np.ndarray,  # (R,) uint8
        rel_to: np.ndarray,  # (R, 3) int32 zyx
        extra: np.ndarray,  # (N,) object: None or (tags, prop)
    ) -> None:
        self.pos = pos
        self.kind = kind
        self._rest: Rest | None = (rel_start, rel_kind, rel_to, extra)
        self._load: Callable[[], Rest] | None = None

    @classmethod
    def deferred(cls, pos: np.ndarray, kind: np.ndarray, load: Callable[[], Rest]) -> Elements:
        """Elements whose rest ``load()`` gives when first read (called at most once)."""
        out = cls.__new__(cls)
        out.pos, out.kind, out._rest, out._load = pos, kind, None, load
        return out

    def __repr__(self) -> str:
        return f"Elements({len(self)} elements)"

    @property
    def is_deferred(self) -> bool:
        """Whether the rest is not decoded yet."""
        return self._rest is None

    def rest(self) -> Rest:
        """``(rel_start, rel_kind, rel_to, extra)``, decoded now if deferred."""
        if self._rest is None:
            assert self._load is not None
            self._rest, self._load = self._load(), None
        return self._rest

    @property
    def rel_start(self) -> np.ndarray:
        return self.rest()[0]

    @property
    def rel_kind(self) -> np.ndarray:
        return self.rest()[1]

    @property
    def rel_to(self) -> np.ndarray:
        return self.rest()[2]

    @property
    def extra(self) -> np.ndarray:
        return self.rest()[3]

    @classmethod
    def empty(cls) -> Elements:
        return cls(
            np.zeros((0, 3), np.int32),
            np.zeros(0, np.uint8),
            np.zeros(1, np.int64),
            np.zeros(0, np.uint8),
            np.zeros((0, 3), np.int32),
            np.empty(0, dtype=object),
        )

    @classmethod
    def points(cls, pos: np.ndarray, kind: np.ndarray) -> Elements:
        """Elements without relationships, tags or properties."""
        n = len(pos)
        return cls(
            np.ascontiguousarray(pos, dtype=np.int32).reshape(n, 3),
            np.ascontiguousarray(kind, dtype=np.uint8),
            np.zeros(n + 1, np.int64),
            np.zeros(0, np.uint8),
            np.zeros((0, 3), np.int32),
            np.full(n, None, dtype=object),
        )

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def rel_counts(self) -> np.ndarray:
        return np.diff(self.rel_start)

    @property
    def rel_owner(self) -> np.ndarray:
        """The element index of each relationship."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.rel_counts)

    def keys(self) -> np.ndarray:
        return pos_keys(self.pos)

    def rel_to_keys(self) -> np.ndarray:
        return pos_keys(self.rel_to)

    def take(self, idx: np.ndarray) -> Elements:
        """The elements at ``idx`` (any order, repeats allowed), relationships included
        (deferred if they are here)."""
        idx = np.asarray(idx, dtype=np.int64)
        # ndarray.take along an axis copies rows several times faster than indexing
        pos, kind = self.pos.take(idx, axis=0), self.kind.take(idx)
        if self._rest is None:
            return Elements.deferred(pos, kind, lambda: _take_rest(self.rest(), idx))
        return Elements(pos, kind, *_take_rest(self._rest, idx))

    def slice(self, a: int, b: int) -> Elements:
        """Elements ``a`` to ``b`` (views, relationships included)."""
        start, rel_kind, rel_to, extra = self.rest()
        ra, rb = int(start[a]), int(start[b])
        return Elements(
            self.pos[a:b],
            self.kind[a:b],
            start[a : b + 1] - ra,
            rel_kind[ra:rb],
            rel_to[ra:rb],
            extra[a:b],
        )

    def with_rels(
        self, rel_start: np.ndarray, rel_kind: np.ndarray, rel_to: np.ndarray
    ) -> Elements:
        """The same elements with another relationship table."""
        return Elements(self.pos, self.kind, rel_start, rel_kind, rel_to, self.extra)

    def sorted(self) -> Elements:
        """The elements in position order (z, y, x)."""
        order = np.argsort(self.keys(), kind="stable")
        return self.take(order)

    def same_as(self, other: Elements) -> bool:
        """Whether both batches hold the same elements in the same order."""
        return (
            np.array_equal(self.pos, other.pos)
            and np.array_equal(self.kind, other.kind)
            and np.array_equal(self.rel_start, other.rel_start)
            and np.array_equal(self.rel_kind, other.rel_kind)
            and np.array_equal(self.rel_to, other.rel_to)
            and list(self.extra) == list(other.extra)
        )

    def element_equal(self, i: int, other: Elements, j: int) -> bool:
        """Whether element ``i`` here equals element ``j`` of ``other``."""
        a = slice(self.rel_start[i], self.rel_start[i + 1])
        b = slice(other.rel_start[j], other.rel_start[j + 1])
        return bool(
            np.array_equal(self.pos[i], other.pos[j])
            and self.kind[i] == other.kind[j]
            and np.array_equal(self.rel_kind[a], other.rel_kind[b])
            and np.array_equal(self.rel_to[a], other.rel_to[b])
            and self.extra[i] == other.extra[j]
        )


def _take_rest(rest: Rest, idx: np.ndarray) -> Rest:
    rel_start, rel_kind, rel_to, extra = rest
    counts = np.diff(rel_start).take(idx)
    rels = ranges(rel_start[:-1].take(idx), counts)
    start = np.zeros(len(idx) + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    return start, rel_kind.take(rels), rel_to.take(rels, axis=0).reshape(-1, 3), extra.take(idx)


def concat(parts: list[Elements]) -> Elements:
    """One batch of ``parts`` in order (its rest deferred if any part's is)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Elements.empty()
    if len(parts) == 1:
        return parts[0]
    pos = np.concatenate([p.pos for p in parts])
    kind = np.concatenate([p.kind for p in parts])
    if any(p.is_deferred for p in parts):
        return Elements.deferred(pos, kind, lambda: _concat_rest([p.rest() for p in parts]))
    return Elements(pos, kind, *_concat_rest([p.rest() for p in parts]))


def _concat_rest(rests: list[Rest]) -> Rest:
    counts = np.concatenate([np.diff(r[0]) for r in rests])
    start = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    return (
        start,
        np.concatenate([r[1] for r in rests]),
        np.concatenate([r[2] for r in rests]).reshape(-1, 3),
        np.concatenate([r[3] for r in rests]),
    )


def last_per_position(batch: Elements) -> Elements:
    """``batch`` sorted by position, keeping the last of elements sharing a position (a
    later element at an existing position replaces it, as in DVID)."""
    keys = batch.keys()
    rev = keys[::-1]
    _, first_in_rev = np.unique(rev, return_index=True)  # unique sorts by key
    return batch.take(len(keys) - 1 - first_in_rev)
