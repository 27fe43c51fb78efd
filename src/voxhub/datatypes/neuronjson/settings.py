"""Creating a neuronjson instance: DVID's neuronjson takes no settings, nor does ours."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.wire.dvid_settings import FromSettings
from voxhub.errors import InvalidRequest


def neuronjson_config_from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    """The ``config_from_settings`` hook: an empty config, every setting ignored (listed)."""
    return FromSettings({}, frozenset(settings))


def check_neuronjson_config(typename: str, config: dict[str, Any]) -> dict[str, Any]:
    """The ``check_config`` hook: a neuronjson config has no keys."""
    if config:
        raise InvalidRequest(f"config of a neuronjson instance takes no keys, got {sorted(config)}")
    return {}
