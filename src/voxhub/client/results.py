"""Results of labelmap mutations: one typed record each, the same embedded and remote.

Each carries what DVID's HTTP answer to the same mutation carries (the ``MutationID``
and any new ids), under the same order the lower layers return them in, so
``new, mutation = lv.cleave(...)`` unpacks as well as ``lv.cleave(...).cleaved_body``.
"""

from __future__ import annotations

from typing import NamedTuple


class MergeResult(NamedTuple):
    """``POST merge``: ``{"MutationID": ...}``."""

    mutation_id: int


class CleaveResult(NamedTuple):
    """``POST cleave``: ``{"CleavedLabel": ..., "MutationID": ...}``."""

    cleaved_body: int
    mutation_id: int


class SplitResult(NamedTuple):
    """``POST split``: ``{"label": ..., "MutationID": ...}``: the new body's id."""

    new_body: int
    mutation_id: int


class SupervoxelSplit(NamedTuple):
    """``POST split-supervoxel``: the ids the voxels inside and outside the runs got."""

    split_supervoxel: int
    remain_supervoxel: int
    mutation_id: int


class RenumberResult(NamedTuple):
    """``POST renumber``: one mutation per pair, as DVID logs it; ``mutation_id`` is the
    last of ``mutation_ids`` (``{"MutationID", "MutationIDs"}`` over HTTP)."""

    mutation_id: int
    mutation_ids: tuple[int, ...]
