"""``Annotations``: point elements (synapses, notes) of an annotation instance at a node.

The same class serves an embedded store and a server (its ``AnnotationAccess`` is the
datatype's :class:`~voxhub.datatypes.annotation.instance.AnnotationInstance` or
:class:`~voxhub.client.remote.annotations.RemoteAnnotations`), with the same exceptions.
Positions given or returned as numpy arrays are ``(z, y, x)``, like every array of
voxhub; element dicts are DVID's JSON, whose ``Pos`` is ``[x, y, z]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voxhub.client.handle import InstanceHandle
from voxhub.datatypes.annotation.element_json import parse_elements, to_json
from voxhub.datatypes.annotation.elements import KIND_CODE, KINDS, RELS, Elements
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3, vec3
from voxhub.optional import require

if TYPE_CHECKING:
    pass


class AnnotationAccess(Protocol):
    """What :class:`Annotations` needs of where the elements live."""

    @property
    def block_shape(self) -> Vec3: ...

    def add(self, batch: Elements) -> int: ...

    def delete(self, zyx: Vec3) -> None: ...

    def move(self, src: Vec3, dst: Vec3) -> None: ...

    def elements_in(self, box: Box) -> Elements: ...

    def all_elements(self) -> Elements: ...

    def label(self, body: int) -> Elements: ...

    def labels(self, bodies: Iterable[int]) -> dict[int, Elements]: ...

    def tag(self, tag: str) -> Elements: ...

    def roi(self, name: str, node_uuid: str | None = None) -> Elements: ...


class ElementSet:
    """Elements returned by a query: numpy columns, DVID dicts or a pandas DataFrame.

    ``positions`` is ``(N, 3)`` int32 ``(z, y, x)``; ``kinds`` their kind names;
    iterating yields DVID's element dicts.
    """

    def __init__(self, elements: Elements) -> None:
        self._elements = elements

    def __len__(self) -> int:
        return len(self._elements)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.to_dicts())

    def __repr__(self) -> str:
        return f"ElementSet({len(self)} elements)"

    @property
    def elements(self) -> Elements:
        """The underlying columns."""
        return self._elements

    @property
    def positions(self) -> np.ndarray:
        return self._elements.pos.copy()

    @property
    def kinds(self) -> list[str]:
        return [KINDS[k] for k in self._elements.kind.tolist()]

    def to_dicts(self, *, relationships: bool = True) -> list[dict[str, Any]]:
        """DVID's JSON of each element."""
        return to_json(self._elements, rels=relationships)

    def relationships(self) -> list[tuple[Vec3, str, Vec3]]:
        """``(from zyx, relationship, to zyx)`` of every relationship."""
        e = self._elements
        owner = e.rel_owner.tolist()
        pos = e.pos.tolist()
        return [
            (tuple(pos[o]), RELS[k], tuple(t))
            for o, k, t in zip(owner, e.rel_kind.tolist(), e.rel_to.tolist(), strict=True)
        ]

    def to_dataframe(self) -> Any:
        """A pandas DataFrame: columns z, y, x, kind, tags, prop, rels (needs pandas)."""
        pd = require("pandas", "ElementSet.to_dataframe")
        dicts = self.to_dicts()
        pos = self._elements.pos
        return pd.DataFrame(
            {
                "z": pos[:, 0],
                "y": pos[:, 1],
                "x": pos[:, 2],
                "kind": self.kinds,
                "tags": [d["Tags"] for d in dicts],
                "prop": [d["Prop"] for d in dicts],
                "rels": [d["Rels"] for d in dicts],
            }
        )


def as_elements(elements: Any, kinds: Any = None) -> Elements:
    """``elements`` as columns: DVID dicts, an :class:`ElementSet`, or ``(N, 3)`` zyx
    positions with ``kinds`` (one kind name for all, or one per position)."""
    if isinstance(elements, ElementSet):
        return elements.elements
    if isinstance(elements, Elements):
        return elements
    if isinstance(elements, np.ndarray):
        pos = np.asarray(elements)
        if pos.ndim != 2 or pos.shape[1] != 3 or pos.dtype.kind not in "iu":
            raise InvalidRequest(f"positions must be an (N, 3) integer array, got {pos.shape}")
        names = [kinds] * len(pos) if kinds is None or isinstance(kinds, str) else list(kinds)
        if len(names) != len(pos):
            raise InvalidRequest(f"{len(names)} kinds for {len(pos)} positions")
        items = [
            {"Pos": p[::-1], "Kind": k or "Unknown"}
            for p, k in zip(pos.tolist(), names, strict=True)
        ]
        return parse_elements(items, "positions")
    return parse_elements(list(elements))


class Annotations(InstanceHandle[AnnotationAccess]):
    """An annotation instance at one node (see the module docstring).

    >>> import voxhub, numpy as np
    >>> node = voxhub.open("memory://").create_repo("syn").master
    >>> ann = node.create_annotations("synapses")
    >>> pre = {"Pos": [10, 20, 30], "Kind": "PreSyn"}
    >>> post = {"Pos": [12, 20, 30], "Kind": "PostSyn"}
    >>> pre["Rels"] = [{"Rel": "PreSynTo", "To": [12, 20, 30]}]
    >>> ann.add([pre, post])
    2
    >>> found = ann.elements(((0, 0, 0), (64, 64, 64)))
    >>> found.positions.tolist(), found.kinds
    ([[30, 20, 10], [30, 20, 12]], ['PreSyn', 'PostSyn'])
    >>> ann.move((30, 20, 12), (31, 20, 12))
    >>> ann.all().to_dicts()[0]["Rels"]
    [{'Rel': 'PreSynTo', 'To': [12, 20, 31]}]
    """

    @property
    def block_shape(self) -> Vec3:
        return self._access.block_shape

    # -- writes -------------------------------------------------------------------------
    def add(self, elements: Any, kinds: Any = None) -> int:
        """Add (or replace, at the same position) elements in one transaction; returns
        how many. ``elements``: DVID dicts, or ``(N, 3)`` zyx positions and ``kinds``."""
        self._writable("add")
        return self._access.add(as_elements(elements, kinds))

    def delete(self, position: Sequence[int]) -> None:
        """Delete the element at ``(z, y, x)`` and every relationship pointing at it."""
        self._writable("delete")
        self._access.delete(vec3(position, "position"))

    def move(self, src: Sequence[int], dst: Sequence[int]) -> None:
        """Move the element at ``src`` to ``dst`` (``(z, y, x)``), retargeting every
        relationship pointing at it."""
        self._writable("move")
        self._access.move(vec3(src, "from"), vec3(dst, "to"))

    # -- reads --------------------------------------------------------------------------
    def elements(self, box: Box | tuple[Sequence[int], Sequence[int]]) -> ElementSet:
        """The elements inside ``box`` (a :class:`~voxhub.Box` or ``(start, stop)``)."""
        if not isinstance(box, Box):
            box = Box(vec3(box[0], "start"), vec3(box[1], "stop"))
        return ElementSet(self._access.elements_in(box))

    def all(self) -> ElementSet:
        return ElementSet(self._access.all_elements())

    def label(self, body: int) -> ElementSet:
        """The elements on ``body`` of the synced labelmap (exact at this node)."""
        return ElementSet(self._access.label(body))

    def labels(self, bodies: Iterable[int]) -> dict[int, ElementSet]:
        return {b: ElementSet(e) for b, e in self._access.labels(list(bodies)).items()}

    def tag(self, tag: str) -> ElementSet:
        return ElementSet(self._access.tag(tag))

    def roi(self, name: str) -> ElementSet:
        """The elements inside the roi instance ``name`` at this node."""
        return ElementSet(self._access.roi(name))

    def counts(self, body: int) -> dict[str, int]:
        """Element kind → number of elements on ``body``."""
        kinds = self._access.label(body).kind
        found = np.bincount(kinds, minlength=len(KINDS))
        return {KINDS[k]: int(n) for k, n in enumerate(found.tolist()) if n}


__all__ = ["KIND_CODE", "AnnotationAccess", "Annotations", "ElementSet", "as_elements"]
