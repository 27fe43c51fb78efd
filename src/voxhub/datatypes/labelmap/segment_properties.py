"""A labelmap's bodies as neuroglancer ``segment_properties`` (``neuroglancer_segment_properties``,
inline): their ids, their sizes in voxels (a ``number`` property) and, where a neuronjson
instance names them, a ``label`` each.

**Which bodies.** neuroglancer loads the whole list at once (the format has no paging), so
it is capped: :data:`MAX_SEGMENTS` bodies by default, a ``limit`` up to
:data:`MAX_LIMIT` when asked. First the bodies the neuronjson instance has documents for
(in ascending id order, the proofread ones people look for by name), then the other
bodies with voxels in ascending id order, until the cap. A body is listed only if it has
voxels at the node (a document of a body merged away is stale). The work is bounded by
the cap: at most that many documents and ``2 x`` that many label indexes are read,
whatever the labelmap holds. The largest bodies would be a better pick, but finding them
reads every label index (millions in a real segmentation) on every request; the named
ones are those proofreaders look for.

**Saying so.** The document's ``voxhub`` member (neuroglancer ignores members it does not
know) gives the ``limit``, whether bodies with voxels were left out (``truncated``: one
more index is looked at to know) and the ``order`` of the choice, so a script can tell a
partial list from a whole one.

**Sizes** are exact voxel counts from the label indexes (kept exact on every write and
mutation), at the node asked for. neuroglancer's number properties are 32-bit: sizes are
``uint32`` unless a body has 2^32 voxels or more, then ``float32`` (rounded).

**Labels** come from the document's ``instance`` field, else ``type``, else ``name``
(neuPrint's and Clio's fields for a body's name and cell type); an unnamed body's label is
empty. Which neuronjson instance: see :func:`names_instance`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.labelmap.index import index_voxels
from voxhub.datatypes.labelmap.keys import KEY_INDEX, id_of, index_key, key_range
from voxhub.versioning.protocols import VersionedReader

#: the most bodies one ``segment_properties/info`` lists unless asked for more
MAX_SEGMENTS = 10_000
#: the largest ``limit`` a request may ask for (~4 MB of JSON)
MAX_LIMIT = 100_000
#: how the listed bodies are chosen, as the document's ``voxhub.order`` says
ORDER = "bodies named in the neuronjson instance by ascending id, then the others by ascending id"
#: document fields naming a body, the first one present wins
NAME_FIELDS = ("instance", "type", "name")
#: the labelmap instance tag naming the neuronjson instance of its body names
NAMES_TAG = "neuronjson"
_UINT32_MAX = 2**32 - 1


def names_instance(labelmap: str, tags: Mapping[str, str], existing: Iterable[str]) -> str | None:
    """The neuronjson instance naming ``labelmap``'s bodies: the one its instance tag
    ``neuronjson`` names, else ``{labelmap}_annotations`` (Clio's convention, e.g.
    ``segmentation_annotations``), if such a neuronjson instance exists (``existing``).

    >>> names_instance("seg", {}, ["seg_annotations", "other"])
    'seg_annotations'
    >>> names_instance("seg", {"neuronjson": "other"}, ["seg_annotations", "other"])
    'other'
    >>> names_instance("seg", {}, ["other"]) is None
    True
    """
    present = set(existing)
    wanted = tags.get(NAMES_TAG) or f"{labelmap}_annotations"
    return wanted if wanted in present else None


def body_name(document: Mapping[str, Any]) -> str:
    """A document's name for its body (:data:`NAME_FIELDS`), ``""`` if none."""
    for name in NAME_FIELDS:
        value = document.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return ""


@dataclass(frozen=True)
class Listed:
    """The bodies chosen (``{body: voxels}``, in order) and whether others were left out."""

    sizes: dict[int, int]
    truncated: bool


def body_sizes(reader: VersionedReader, first: Iterable[int], *, cap: int = MAX_SEGMENTS) -> Listed:
    """``{body: voxels}`` of the bodies in ``first`` that have voxels, then of the other
    bodies in ascending id order, at most ``cap`` in all; ``truncated`` if a body with
    voxels is not among them."""
    wanted = list(dict.fromkeys(first))
    sizes: dict[int, int] = {}
    chosen = wanted[:cap]
    for body, value in zip(chosen, reader.get_many([index_key(b) for b in chosen]), strict=True):
        if value is not None:
            sizes[body] = index_voxels(body, value)
    rest = (
        (id_of(key), value)
        for key, value in reader.scan(*key_range(KEY_INDEX))
        if value is not None and id_of(key) not in sizes
    )
    room = max(cap - len(sizes), 0)
    more = list(itertools.islice(rest, room + 1))  # one past the cap: is there more?
    for body, value in more[:room]:
        sizes[body] = index_voxels(body, value)
    return Listed(sizes, len(more) > room)


def segment_properties(
    listed: Listed, labels: Mapping[int, str] | None, *, limit: int = MAX_SEGMENTS
) -> dict[str, Any]:
    """The ``neuroglancer_segment_properties`` JSON of the bodies ``listed`` (in its
    order); a ``label`` property when ``labels`` is given (a neuronjson instance exists);
    the ``voxhub`` member saying how they were chosen (see the module)."""
    sizes = listed.sizes
    ids = list(sizes)
    big = any(n > _UINT32_MAX for n in sizes.values())
    properties: list[dict[str, Any]] = []
    if labels is not None:
        values = [labels.get(body, "") for body in ids]
        properties.append({"id": "label", "type": "label", "values": values})
    properties.append(
        {
            "id": "size",
            "type": "number",
            "data_type": "float32" if big else "uint32",
            "description": "voxels at this version",
            "values": [float(sizes[b]) if big else sizes[b] for b in ids],
        }
    )
    return {
        "@type": "neuroglancer_segment_properties",
        "inline": {"ids": [str(b) for b in ids], "properties": properties},
        "voxhub": {"limit": limit, "truncated": listed.truncated, "order": ORDER},
    }
