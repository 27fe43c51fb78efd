"""The ``Base`` object of DVID's instance JSON, the same for every datatype.

DVID's ``GET info`` (and ``/api/repos/info``) describes an instance as ``{"Base": {...},
"Extended": {...}}``; ``Base`` has the same fields for every type and only ``Extended`` is
the type's own. Each datatype's ``dvid_info`` builds its ``Extended`` and takes ``Base``
from here. It imports no datatype and not the registry, so every datatype may use it.
"""

from __future__ import annotations

from typing import Any

from voxhub.versioning.records import InstanceInfo


def synced_names(info: InstanceInfo) -> tuple[str, ...]:
    """The instances ``info`` follows (its config's ``"sync"``)."""
    names = info.config.get("sync", ())
    return tuple(str(n) for n in names) if isinstance(names, list | tuple) else ()


def dvid_base(
    info: InstanceInfo, type_url: str, type_version: str, *, compression: str = "none"
) -> dict[str, Any]:
    """``Base`` of ``info``: names, UUIDs, the instances it follows (``Syncs``), tags and
    the creation settings its type ignored (voxhub's ``IgnoredSettings``)."""
    return {
        "TypeName": info.typename,
        "TypeURL": type_url,
        "TypeVersion": type_version,
        "DataUUID": info.data_uuid,
        "Name": info.name,
        "RepoUUID": info.repo,
        "Compression": compression,
        "Checksum": "NoChecksum",
        "Syncs": list(synced_names(info)),
        "Versioned": info.versioned,
        "Tags": dict(info.tags),
        "IgnoredSettings": list(info.ignored_settings),
    }
