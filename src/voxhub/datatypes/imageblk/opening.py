"""Opening an image instance at a node from the catalog, bounded by a request limit."""

from __future__ import annotations

import numpy as np

from voxhub.datatypes.imageblk.config import instance_config
from voxhub.datatypes.imageblk.instance import DEFAULT_MAX_REQUEST_VOXELS, ImageInstance
from voxhub.versioning.catalog import Catalog, InstanceInfo


def open_image_instance(
    catalog: Catalog, node_uuid: str, info: InstanceInfo, limit_bytes: int | None = None
) -> ImageInstance:
    """The image instance ``info`` at ``node_uuid``, refusing reads and writes over
    ``limit_bytes`` (the instance's default voxel limit when ``None``).

    Blocking (it reads the catalog): call it in a thread from async code.
    """
    config = instance_config(info)
    view = catalog.view(node_uuid, info.name)
    if limit_bytes is None:
        return ImageInstance(view, config, info.name, max_request_voxels=DEFAULT_MAX_REQUEST_VOXELS)
    per_voxel = np.dtype(config.dtype).itemsize
    voxels = max(1, limit_bytes // per_voxel)
    return ImageInstance(view, config, info.name, max_request_voxels=voxels)
