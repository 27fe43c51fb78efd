"""DVID instance-creation bodies (``POST /api/repo/{uuid}/instance``) → a new instance.

This module reads what every datatype shares (``typename``, ``dataname``, ``versioned``,
the keys DVID sends and voxhub ignores) and hands the remaining settings, keys
lower-cased, to the datatype's registry hook ``config_from_settings``
(:mod:`voxhub.datatypes.wire.dvid_settings` has the shared parsing; images:
:mod:`voxhub.datatypes.imageblk.dvid_settings`, labelmaps:
:mod:`voxhub.datatypes.labelmap.dvid_settings`). A datatype without the hook cannot be
created over HTTP (501).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.wire.dvid_settings import IGNORED_KEYS, parse_bool
from voxhub.errors import CapabilityError, InvalidRequest


@dataclass(frozen=True)
class NewInstance:
    """A validated request to create an instance."""

    typename: str
    name: str
    versioned: bool
    config: dict[str, Any]


def parse_new_instance(body: dict[str, Any]) -> NewInstance:
    """Validate a DVID instance-creation body (keys case-insensitive)."""
    settings = {str(k).lower(): v for k, v in body.items()}
    typename = settings.pop("typename", None)
    name = settings.pop("dataname", None)
    if not isinstance(typename, str) or not typename:
        raise InvalidRequest("field 'typename' is required (e.g. \"uint8blk\")")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("field 'dataname' is required")
    versioned = parse_bool("versioned", settings.pop("versioned", True))
    datatype = datatype_for(typename)
    for key in IGNORED_KEYS:
        settings.pop(key, None)
    if datatype.config_from_settings is None:
        raise CapabilityError(f"creating {typename!r} instances over HTTP is not supported yet")
    return NewInstance(typename, name, versioned, datatype.config_from_settings(typename, settings))
