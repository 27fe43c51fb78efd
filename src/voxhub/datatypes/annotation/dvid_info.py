"""DVID's ``GET info`` of an annotation instance: ``Base`` and ``Extended``."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.annotation.config import block_shape
from voxhub.datatypes.dvid_base import dvid_base
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/janelia-flyem/dvid/datatype/annotation"
TYPE_VERSION = "0.1"


def annotation_info_json(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    """DVID's ``GET info`` of the annotation ``info`` (the registry's ``describe_instance``)."""
    bz, by, bx = block_shape(info.config)
    return {
        "Base": dvid_base(info, TYPE_URL, TYPE_VERSION),
        "Extended": {"BlockSize": [bx, by, bz]},
    }
