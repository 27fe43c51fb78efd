"""DVID's ``info`` JSON of a neuronjson instance: ``Base`` and an empty ``Extended``."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.dvid_base import dvid_base
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/voxhub/voxhub/datatypes/neuronjson"
TYPE_VERSION = "0.1"


def neuronjson_info_json(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    """What ``GET info`` answers and ``/api/repos/info`` lists (the same at every node)."""
    return {
        "Base": dvid_base(info, TYPE_URL, TYPE_VERSION),
        "Extended": {},
    }
