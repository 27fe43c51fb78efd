"""DVID's ``GET info`` of a labelsz instance: ``Base`` and ``Extended`` (``StaticROI``)."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.dvid_base import dvid_base
from voxhub.datatypes.labelsz.config import roi_of
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/janelia-flyem/dvid/datatype/labelsz"
TYPE_VERSION = "0.1"


def labelsz_info_json(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    """The registry's ``describe_instance`` hook of labelsz instances."""
    roi = roi_of(info.config)
    return {
        "Base": dvid_base(info, TYPE_URL, TYPE_VERSION),
        "Extended": {"StaticROI": roi.dvid if roi is not None else ""},
    }
