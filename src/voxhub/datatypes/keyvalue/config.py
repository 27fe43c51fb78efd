"""The config of a keyvalue instance: the chunk size of big values.

``{"chunk_bytes": N}``: a value of N bytes or more is stored as N-byte chunks (and read
and written a chunk at a time); smaller values are one stored key. The default, 4 MiB,
keeps a 1 MB value in one key (one read, one write) and a 100 GB one at 25,000 keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.wire.dvid_settings import FromSettings, unused
from voxhub.errors import InvalidRequest

DEFAULT_CHUNK_BYTES = 4 << 20
MIN_CHUNK_BYTES = 64
MAX_CHUNK_BYTES = 64 << 20


@dataclass(frozen=True)
class KeyValueConfig:
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    def __post_init__(self) -> None:
        n = self.chunk_bytes
        if isinstance(n, bool) or not isinstance(n, int):
            raise InvalidRequest(f"chunk_bytes must be an integer, got {n!r}")
        if not MIN_CHUNK_BYTES <= n <= MAX_CHUNK_BYTES:
            raise InvalidRequest(
                f"chunk_bytes {n} is outside [{MIN_CHUNK_BYTES}, {MAX_CHUNK_BYTES}]"
            )

    def to_json(self) -> dict[str, Any]:
        return {"chunk_bytes": self.chunk_bytes}

    @classmethod
    def from_json(cls, config: dict[str, Any]) -> KeyValueConfig:
        extra = sorted(set(config) - {"chunk_bytes"})
        if extra:
            raise InvalidRequest(f"unknown keyvalue config field(s): {', '.join(extra)}")
        return cls(config.get("chunk_bytes", DEFAULT_CHUNK_BYTES))


def keyvalue_config_from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    """DVID's creation settings: keyvalue uses none (``versioned`` is read by the server
    for every type); the rest are ignored, as DVID ignores them."""
    return FromSettings(KeyValueConfig().to_json(), unused(settings, frozenset()))


def check_keyvalue_config(typename: str, config: dict[str, Any]) -> dict[str, Any]:
    """A config posted as JSON (voxhub's own instance route), checked."""
    return KeyValueConfig.from_json(config).to_json()
