"""DVID's ``GET info`` of an roi instance: ``Base`` and ``Extended`` (``BlockSize``,
``MinZ``, ``MaxZ``).

DVID keeps ``MinZ``/``MaxZ`` as instance properties, unversioned and never shrunk by a
later ``POST roi``; here they are the first and last block plane holding spans at the
node asked about (``MinZ`` 2147483647 and ``MaxZ`` -2147483648 when empty, DVID's values
for a new instance).
"""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.dvid_base import dvid_base
from voxhub.datatypes.roi.instance import open_roi_instance
from voxhub.datatypes.roi.spans import INT32_MAX, INT32_MIN
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/janelia-flyem/dvid/datatype/roi"
TYPE_VERSION = "0.1"


def roi_info_json(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    """DVID's ``GET info`` of the roi ``info`` at ``node_uuid`` (blocking); the registry's
    ``describe_instance`` hook of rois."""
    instance = open_roi_instance(access.catalog, node_uuid, info)
    z_range = instance.reader.z_range()
    min_z, max_z = z_range if z_range is not None else (INT32_MAX, INT32_MIN)
    bz, by, bx = instance.block_shape
    return {
        "Base": dvid_base(info, TYPE_URL, TYPE_VERSION, compression="zstd"),
        "Extended": {"BlockSize": [bx, by, bz], "MinZ": min_z, "MaxZ": max_z},
    }
