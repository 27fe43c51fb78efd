"""Codec lookup by name: built-ins and plug-ins register here, specs are parsed here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voxhub.codecs.base import BlockCodec
from voxhub.errors import InvalidRequest

_CODECS: dict[str, type[BlockCodec]] = {}


def register_codec(cls: type[BlockCodec]) -> type[BlockCodec]:
    """Register ``cls`` under ``cls.name`` (usable as a decorator).

    Re-registering the same class is a no-op; another class under a taken name is refused.
    """
    existing = _CODECS.get(cls.name)
    if existing is not None and existing is not cls:
        raise InvalidRequest(
            f"codec name {cls.name!r} is taken by {existing.__module__}.{existing.__name__}"
        )
    _CODECS[cls.name] = cls
    return cls


def known_codecs() -> list[str]:
    """Names of every registered codec, sorted."""
    return sorted(_CODECS)


def codec_from_json(spec: Mapping[str, Any] | str) -> BlockCodec:
    """Build a codec from ``{"name": ..., "configuration": {...}}`` (or a bare name)."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise InvalidRequest(f"codec spec must be an object with a 'name', got {spec!r}")
    extra = set(spec) - {"name", "configuration"}
    if extra:
        raise InvalidRequest(f"codec spec has unknown fields {sorted(extra)}")
    name = spec["name"]
    cls = _CODECS.get(name)
    if cls is None:
        raise InvalidRequest(f"unknown codec {name!r}; known codecs: {', '.join(known_codecs())}")
    configuration = spec.get("configuration") or {}
    if not isinstance(configuration, Mapping):
        raise InvalidRequest(f"codec {name!r}: configuration must be an object")
    return cls.from_configuration(configuration)
