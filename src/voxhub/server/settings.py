"""DVID instance-creation bodies (``POST /api/repo/{uuid}/instance``) → a new instance.

This module reads what every datatype shares (``typename``, ``dataname``, ``versioned``,
``Tags``),
checks the value of every setting DVID parses (a malformed one is a 400 naming it, used
or not) and hands the remaining settings, keys lower-cased, to the datatype's registry
hook ``config_from_settings``, which answers the config and the settings it ignores
(:mod:`voxhub.datatypes.wire.dvid_settings` has the shared parsing; images:
:mod:`voxhub.datatypes.imageblk.dvid_settings`, labelmaps:
:mod:`voxhub.datatypes.labelmap.dvid_settings`). The ignored ones are named as the
client spelled them. A datatype without the hook cannot be created over HTTP (501).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.wire.dvid_settings import check_dvid_settings, parse_bool, parse_tags
from voxhub.errors import CapabilityError, InvalidRequest


@dataclass(frozen=True)
class NewInstance:
    """A validated request to create an instance."""

    typename: str
    name: str
    versioned: bool
    config: dict[str, Any]
    #: the settings the datatype does not use (DVID ignores them too), client's spelling
    ignored: tuple[str, ...] = ()
    #: DVID's ``Tags`` setting (every datatype has tags)
    tags: dict[str, str] = field(default_factory=dict)


def parse_new_instance(body: dict[str, Any]) -> NewInstance:
    """Validate a DVID instance-creation body (keys case-insensitive)."""
    names = {str(k).lower(): str(k) for k in body}
    settings = {str(k).lower(): v for k, v in body.items()}
    typename = settings.pop("typename", None)
    name = settings.pop("dataname", None)
    if not isinstance(typename, str) or not typename:
        raise InvalidRequest("field 'typename' is required (e.g. \"uint8blk\")")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("field 'dataname' is required")
    check_dvid_settings(settings, names)
    versioned = parse_bool(names.get("versioned", "versioned"), settings.pop("versioned", True))
    tags = parse_tags(names.get("tags", "Tags"), settings.pop("tags", ""))
    datatype = datatype_for(typename)
    if datatype.config_from_settings is None:
        raise CapabilityError(f"creating {typename!r} instances over HTTP is not supported yet")
    made = datatype.config_from_settings(typename, settings)
    ignored = tuple(sorted(names[k] for k in made.ignored))
    return NewInstance(typename, name, versioned, made.config, ignored, tags)
