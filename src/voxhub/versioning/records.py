"""JSON (de)serialisation of the metadata records the catalog keeps in the store.

Records are canonical JSON (sorted keys, compact) so that the bytes read before a
compare-and-swap are exactly the bytes the CAS compares against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from voxhub.errors import StorageError
from voxhub.versioning.dag import NodeInfo, RepoInfo


@dataclass(frozen=True)
class InstanceInfo:
    """A named data instance of some datatype, visible from every node of its repo."""

    name: str
    typename: str
    instance_id: int
    repo: str
    data_uuid: str
    versioned: bool
    created_at: str
    config: dict[str, Any]
    #: DVID creation settings the datatype did not use, as the client spelled them
    ignored_settings: tuple[str, ...] = ()
    #: DVID's instance tags (``GET/POST .../tags``): instance-wide, not versioned
    tags: dict[str, str] = field(default_factory=dict)


_TUPLE_FIELDS = {"log", "parents", "children", "parent_ids", "ignored_settings"}


def encode(record: RepoInfo | NodeInfo | InstanceInfo | dict[str, Any]) -> bytes:
    """Canonical JSON bytes of a record (dataclass or plain dict)."""
    if isinstance(record, dict):
        data = record
    else:
        data = {f.name: getattr(record, f.name) for f in fields(record)}
        data = {k: list(v) if k in _TUPLE_FIELDS else v for k, v in data.items()}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _load(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise StorageError(f"corrupt {what} record: {e}") from e
    if not isinstance(data, dict):
        raise StorageError(f"corrupt {what} record: not a JSON object")
    return data


R = TypeVar("R", RepoInfo, NodeInfo, InstanceInfo)


_NAMES: dict[type, tuple[tuple[str, bool], ...]] = {}


def _names(cls: type) -> tuple[tuple[str, bool], ...]:
    """Field names of a record class and whether each is a tuple (cached: listing a repo
    decodes thousands of node records)."""
    found = _NAMES.get(cls)
    if found is None:
        found = _NAMES[cls] = tuple((f.name, f.name in _TUPLE_FIELDS) for f in fields(cls))
    return found


def _from_dict(cls: type[R], data: Any, what: str) -> R:
    if not isinstance(data, dict):
        raise StorageError(f"corrupt {what} record: not a JSON object")
    try:
        values: dict[str, Any] = {
            name: tuple(data[name]) if is_tuple else data[name]
            for name, is_tuple in _names(cls)
            if name in data
        }
        return cls(**values)
    except TypeError as e:
        raise StorageError(f"corrupt {what} record: {e}") from e


def repo_from_dict(data: Any) -> RepoInfo:
    """A :class:`RepoInfo` from its parsed JSON (e.g. a server's answer)."""
    return _from_dict(RepoInfo, data, "repo")


def node_from_dict(data: Any) -> NodeInfo:
    """A :class:`NodeInfo` from its parsed JSON."""
    return _from_dict(NodeInfo, data, "node")


def instance_from_dict(data: Any) -> InstanceInfo:
    """An :class:`InstanceInfo` from its parsed JSON."""
    return _from_dict(InstanceInfo, data, "instance")


def decode_repo(raw: bytes) -> RepoInfo:
    """A :class:`RepoInfo` from its stored bytes."""
    return repo_from_dict(_load(raw, "repo"))


def decode_node(raw: bytes) -> NodeInfo:
    """A :class:`NodeInfo` from its stored bytes."""
    return node_from_dict(_load(raw, "node"))


def decode_instance(raw: bytes) -> InstanceInfo:
    """An :class:`InstanceInfo` from its stored bytes."""
    return instance_from_dict(_load(raw, "instance"))


def decode_dict(raw: bytes, what: str) -> dict[str, Any]:
    """A plain JSON object record (branch reservations)."""
    return _load(raw, what)
