"""Pyramid levels seen as DVID instances: level N of image ``em`` is the instance ``em_N``.

DVID keeps downres grayscale in separate ``uint8blk`` instances named ``<name>_1``,
``<name>_2``, ..., and neuroglancer's ``dvid://`` source finds the scales of an image only
that way. voxhub stores the levels inside the instance (``?scale=N``), so the server
serves each level under the DVID name as well, read-only and without copying: this
module describes a level as such an instance. The voxel size is the base's times the
level's factor, the extents are the base's extents at that level, and ``MaxDownresLevel``
counts the levels above it (``em_1?scale=1`` is level 2 of ``em``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.dvid_info import instance_info_json, metadata_json
from voxhub.datatypes.imageblk.opening import open_image_instance
from voxhub.versioning.records import InstanceInfo


def top_level(config: Mapping[str, Any]) -> int:
    """The highest pyramid level of a stored image config (0: no pyramid)."""
    value = config.get("max_scale", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def level_name(name: str, level: int) -> str:
    """DVID's name of pyramid level ``level`` of the instance ``name``."""
    return f"{name}_{level}"


def level_config(config: ImageConfig, level: int) -> ImageConfig:
    """``config`` as seen from pyramid level ``level``: coarser voxels, fewer levels above."""
    factor = config.scale_factor(level)
    size = tuple(v * f for v, f in zip(config.voxel_size, factor, strict=True))
    return dataclasses.replace(
        config,
        voxel_size=(size[0], size[1], size[2]),
        max_scale=config.max_scale - level,
    )


def level_info_json(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, level: int
) -> dict[str, Any]:
    """DVID's ``GET info`` of level ``level`` of image ``info`` at ``node_uuid``, as the
    instance ``<name>_<level>`` (blocking: reads the catalog and the extents)."""
    instance = open_image_instance(access.catalog, node_uuid, info)
    config = level_config(instance.config, level)
    out = instance_info_json(info, config, instance.extents(level))
    name = level_name(info.name, level)
    out["Base"]["Name"] = name
    out["Extended"]["Values"][0]["Label"] = name
    # voxhub: where the voxels come from (DVID has no such field; clients ignore it)
    out["Extended"]["PyramidLevelOf"] = {"Name": info.name, "Scale": level}
    return out


def level_metadata_json(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, level: int
) -> dict[str, Any]:
    """DVID's ``GET metadata`` of level ``level`` of image ``info`` (blocking)."""
    instance = open_image_instance(access.catalog, node_uuid, info)
    return metadata_json(level_config(instance.config, level), instance.extents(level))
