"""DVID's ``GET info`` of a labelsz instance: ``Base`` and ``Extended`` (``StaticROI``)."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.labelsz.config import roi_of
from voxhub.datatypes.sync import synced_names
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/janelia-flyem/dvid/datatype/labelsz"
TYPE_VERSION = "0.1"


def labelsz_info_json(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    """The registry's ``describe_instance`` hook of labelsz instances."""
    roi = roi_of(info.config)
    return {
        "Base": {
            "TypeName": info.typename,
            "TypeURL": TYPE_URL,
            "TypeVersion": TYPE_VERSION,
            "DataUUID": info.data_uuid,
            "Name": info.name,
            "RepoUUID": info.repo,
            "Compression": "none",
            "Checksum": "NoChecksum",
            "Syncs": list(synced_names(info)),
            "Versioned": info.versioned,
            "Tags": dict(info.tags),
            "IgnoredSettings": list(info.ignored_settings),
        },
        "Extended": {"StaticROI": roi.dvid if roi is not None else ""},
    }
