"""JSON (de)serialisation of the metadata records the catalog keeps in the store.

Records are canonical JSON (sorted keys, compact) so that the bytes read before a
compare-and-swap are exactly the bytes the CAS compares against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

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


_TUPLE_FIELDS = {"log", "parents", "children", "parent_ids"}


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


def _build(cls: type[Any], raw: bytes, what: str) -> Any:
    return _from_dict(cls, _load(raw, what), what)


def _from_dict(cls: type[Any], data: Any, what: str) -> Any:
    if not isinstance(data, dict):
        raise StorageError(f"corrupt {what} record: not a JSON object")
    try:
        return cls(
            **{
                f.name: tuple(data[f.name]) if f.name in _TUPLE_FIELDS else data[f.name]
                for f in fields(cls)
                if f.name in data
            }
        )
    except TypeError as e:
        raise StorageError(f"corrupt {what} record: {e}") from e


def repo_from_dict(data: Any) -> RepoInfo:
    """A :class:`RepoInfo` from its parsed JSON (e.g. a server's answer)."""
    repo: RepoInfo = _from_dict(RepoInfo, data, "repo")
    return repo


def node_from_dict(data: Any) -> NodeInfo:
    """A :class:`NodeInfo` from its parsed JSON."""
    node: NodeInfo = _from_dict(NodeInfo, data, "node")
    return node


def instance_from_dict(data: Any) -> InstanceInfo:
    """An :class:`InstanceInfo` from its parsed JSON."""
    inst: InstanceInfo = _from_dict(InstanceInfo, data, "instance")
    return inst


def decode_repo(raw: bytes) -> RepoInfo:
    """A :class:`RepoInfo` from its stored bytes."""
    repo: RepoInfo = _build(RepoInfo, raw, "repo")
    return repo


def decode_node(raw: bytes) -> NodeInfo:
    """A :class:`NodeInfo` from its stored bytes."""
    node: NodeInfo = _build(NodeInfo, raw, "node")
    return node


def decode_instance(raw: bytes) -> InstanceInfo:
    """An :class:`InstanceInfo` from its stored bytes."""
    inst: InstanceInfo = _build(InstanceInfo, raw, "instance")
    return inst


def decode_dict(raw: bytes, what: str) -> dict[str, Any]:
    """A plain JSON object record (branch reservations)."""
    return _load(raw, what)
