"""Which instances an instance follows: DVID's ``Sync`` setting and ``POST sync``.

The names live in the instance's stored config under ``"sync"`` (a list), instance-wide
like DVID's syncs. A datatype that can follow others lists the datatype families it may
follow in its registry entry (``sync_targets``: an annotation follows a labelmap, a labelsz
an annotation), one instance of each; a sync to a missing instance, to itself, to a
family not listed or to a second instance of a family is a 400 naming it. Once a sync
is stored, the follower's ``build_synced`` hook rebuilds its derived data at the node
from what its sources hold then (so a labelsz made after its annotation's elements
counts them), in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.sync import synced_names
from voxhub.datatypes.wire.dvid_settings import setting_text
from voxhub.errors import InvalidRequest
from voxhub.versioning.records import InstanceInfo

#: the config key holding the names an instance follows
SYNC_KEY = "sync"


def parse_sync_names(value: Any, what: str = "sync") -> list[str]:
    """DVID's ``"name1,name2"`` (or a JSON list of names) as a list, blanks dropped."""
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise InvalidRequest(f"{what} must be instance names, got {value!r}")
        pieces = value
    else:
        pieces = setting_text(what, value).split(",")
    return list(dict.fromkeys(p.strip() for p in pieces if p.strip()))


def sync_from_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The config part of DVID's ``Sync`` creation setting (keys lower-cased), for a
    datatype's ``config_from_settings``: ``{"sync": [names]}``, or ``{}`` without it."""
    value = settings.get("sync")
    names = parse_sync_names(value, "Sync") if value is not None else []
    return {SYNC_KEY: names} if names else {}


def check_syncs(
    access: StoreAccess, repo: str, name: str, typename: str, names: Sequence[str]
) -> None:
    """Refuse (400, naming it) a sync of instance ``name`` (of ``typename``) to an
    instance that does not exist, to itself, or of a family its datatype cannot follow."""
    datatype = datatype_for(typename)
    allowed = datatype.sync_targets
    if names and not allowed:
        raise InvalidRequest(f"{typename} instance {name!r} cannot sync to other instances")
    known = {i.name: i for i in access.catalog.instances(repo)}
    families: dict[str, str] = {}
    for target in names:
        if target == name:
            raise InvalidRequest(f"instance {name!r} cannot sync to itself")
        info = known.get(target)
        if info is None:
            raise InvalidRequest(f"cannot sync {name!r} to {target!r}: no such instance")
        family = datatype_for(info.typename).name
        if family not in allowed:
            raise InvalidRequest(
                f"cannot sync {typename} instance {name!r} to {info.typename} instance "
                f"{target!r}: it syncs to {', '.join(allowed)} only"
            )
        if family in families:
            raise InvalidRequest(
                f"cannot sync {typename} instance {name!r} to both {families[family]!r} and "
                f"{target!r}: it follows one {family} instance"
            )
        families[family] = target


def check_config_syncs(
    access: StoreAccess, repo: str, name: str, typename: str, config: dict[str, Any]
) -> dict[str, Any]:
    """A new instance's config checked against the repo before it is created: its
    ``"sync"`` list (:func:`check_syncs`) and what its datatype's ``resolve_config`` hook
    checks (e.g. the ROI version a labelsz names); returns the config to store."""
    names = config.get(SYNC_KEY)
    if names is not None:
        if not isinstance(names, list):
            raise InvalidRequest(f"config 'sync' of {name!r} must be a list of instance names")
        check_syncs(access, repo, name, typename, parse_sync_names(names))
    resolve = datatype_for(typename).resolve_config
    return config if resolve is None else resolve(access, repo, config)


def build_synced(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, *, unsynced: bool = False
) -> None:
    """Rebuild ``info``'s derived data at ``node_uuid`` from its sources (if its datatype
    derives any and the node takes writes; ``unsynced``: also when it follows nothing,
    after its syncs were removed, so nothing derived from them is left)."""
    build = datatype_for(info.typename).build_synced
    if build is None or not (unsynced or synced_names(info)):
        return
    if not access.catalog.view(node_uuid, info.name).writable:
        return
    build(access, node_uuid, info)


def set_syncs(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, names: Sequence[str], *, replace: bool
) -> InstanceInfo:
    """Make ``info`` follow ``names`` too (``replace``: only them), then rebuild its derived
    data at the node (DVID's ``POST sync``). Returns the updated instance."""
    current = list(synced_names(info))
    wanted = list(names) if replace else list(dict.fromkeys([*current, *names]))
    check_syncs(access, info.repo, info.name, info.typename, wanted)

    def change(config: dict[str, Any]) -> dict[str, Any]:
        config = dict(config)
        if wanted:
            config[SYNC_KEY] = wanted
        else:
            config.pop(SYNC_KEY, None)
        return config

    resolve = datatype_for(info.typename).resolve_config
    if resolve is not None:  # what it checks at creation holds for the new syncs too
        resolve(access, info.repo, change(info.config))
    new = access.catalog.update_instance_config(info.repo, info.name, change)
    build_synced(access, node_uuid, new, unsynced=bool(current))
    return new
