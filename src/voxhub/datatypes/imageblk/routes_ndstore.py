"""Image instances as ndstore channels: cutouts, slices and POSTs of npz/blosc/hdf5 bodies.

The URL grammar and the formats are described in :mod:`voxhub.server.ndstore`; this is
what the ``imageblk`` registry hook (``Datatype.ndstore``) opens for a channel.
"""

from __future__ import annotations

import numpy as np

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.imageblk.instance import ImageInstance
from voxhub.datatypes.imageblk.opening import open_image_instance
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire import ndstore_bodies as nd_bodies
from voxhub.datatypes.wire.ndstore_face import NdstoreChannel, check_inside
from voxhub.datatypes.wire.url_geometry import describe_xyz
from voxhub.geometry import Box
from voxhub.versioning.records import InstanceInfo


class ImageChannel(NdstoreChannel):
    """An image instance at a node."""

    def __init__(self, instance: ImageInstance, info: InstanceInfo) -> None:
        super().__init__(info, instance.config.max_scale)
        self.instance = instance
        self.dtype = np.dtype(instance.config.dtype)

    def read(self, fmt: str, box: Box, res: int, limit: int) -> tuple[bytes, str]:
        check_inside(box, self.instance.extents(res), self.name, res, "cutout")
        bodies.check_size(box.size * self.dtype.itemsize, limit, "cutout")
        encode, media_type = nd_bodies.ENCODERS[fmt]
        return encode(self.instance.read(box, res), self.name), media_type

    def check_write(self, box: Box, limit: int) -> None:
        bodies.check_size(box.size * self.dtype.itemsize, limit, "write")
        self.instance.view.check_writable()

    def write(self, fmt: str, body: bytes, box: Box, limit: int) -> None:
        expected = nd_bodies.Expected(
            shape=box.shape,
            dtype=self.dtype,
            channel=self.name,
            box_text=describe_xyz(box),
            limit=limit,
        )
        self.instance.write(box.start, nd_bodies.decode(fmt, body, expected))


def open_image_channel(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, limit: int
) -> ImageChannel:
    """The registry hook: image instance ``info`` at ``node_uuid`` as an ndstore channel."""
    return ImageChannel(open_image_instance(access.catalog, node_uuid, info, limit), info)
