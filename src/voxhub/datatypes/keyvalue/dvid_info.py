"""DVID's instance JSON of a keyvalue instance (``GET info``, ``/api/repos/info``)."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.dvid_base import dvid_base
from voxhub.datatypes.keyvalue.config import KeyValueConfig
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/voxhub/voxhub/datatypes/keyvalue"
#: DVID's keyvalue type version
TYPE_VERSION = "0.2"


def keyvalue_info_json(info: InstanceInfo) -> dict[str, Any]:
    """``Base`` as every DVID instance has it, and keyvalue's ``Extended`` (``{}`` in DVID;
    here the chunk size of big values)."""
    return {
        "Base": dvid_base(info, TYPE_URL, TYPE_VERSION),
        "Extended": {"ChunkBytes": KeyValueConfig.from_json(info.config).chunk_bytes},
    }
