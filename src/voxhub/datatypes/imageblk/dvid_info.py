"""DVID's JSON descriptions of an image instance: ``info``, ``metadata``, ``POST extents``.

All vectors are DVID's ``[x, y, z]``. ``MinPoint``/``MaxPoint`` are inclusive voxel
bounds and ``MinIndex``/``MaxIndex`` inclusive block bounds of the extents at scale 0.
Unlike DVID they are never ``null``: an instance with nothing written reports
``[0, 0, 0]``, because neuroglancer drops an instance whose bounds are ``null``.
``Base.Compression`` is always a string (``"zstd:1"``, ``"jpeg:90"``, ``"lz4"``...);
neuroglancer tests it for ``"jpeg"`` to choose its request kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.dvid_base import dvid_base
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.extents import grow_extents
from voxhub.datatypes.imageblk.opening import open_image_instance
from voxhub.datatypes.wire.numbers import COORD_LIMIT, parse_coord
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box
from voxhub.versioning.protocols import VersionedView
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/voxhub/voxhub/datatypes/imageblk"
TYPE_VERSION = "0.1"


def compression_label(config: ImageConfig) -> str:
    """The codec as one string: its name, then its level or quality if it has one."""
    settings = config.codec.get("configuration") or {}
    value = settings.get("level", settings.get("quality"))
    return str(config.codec["name"]) + ("" if value is None else f":{value}")


def _xyz(v: tuple[int, int, int] | tuple[float, float, float]) -> list[Any]:
    return [v[2], v[1], v[0]]


def _inclusive(box: Box | None) -> tuple[list[int], list[int]]:
    if box is None or box.empty:
        return [0, 0, 0], [0, 0, 0]
    last = (box.stop[0] - 1, box.stop[1] - 1, box.stop[2] - 1)
    return _xyz(box.start), _xyz(last)


def image_info_json(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    """DVID's ``GET info`` of image instance ``info`` at ``node_uuid`` (blocking: reads the
    catalog and the extents); the registry's ``describe_instance`` hook of images."""
    instance = open_image_instance(access.catalog, node_uuid, info)
    return instance_info_json(info, instance.config, instance.extents(0))


def instance_info_json(
    info: InstanceInfo, config: ImageConfig, extents: Box | None
) -> dict[str, Any]:
    """DVID's ``GET info`` answer (also what ``/api/repos/info`` lists per instance)."""
    min_point, max_point = _inclusive(extents)
    bs = config.block_shape
    blocks = None if extents is None or extents.empty else extents
    min_index, max_index = [0, 0, 0], [0, 0, 0]
    if blocks is not None:
        min_index = [min_point[i] // bs[2 - i] for i in range(3)]
        max_index = [max_point[i] // bs[2 - i] for i in range(3)]
    return {
        "Base": dvid_base(info, TYPE_URL, TYPE_VERSION, compression=compression_label(config)),
        "Extended": {
            "Values": [{"DataType": config.dtype, "Label": info.name}],
            "Interpolable": True,
            "BlockSize": _xyz(bs),
            "VoxelSize": _xyz(config.voxel_size),
            "VoxelUnits": [config.voxel_units] * 3,
            "MinPoint": min_point,
            "MaxPoint": max_point,
            "MinIndex": min_index,
            "MaxIndex": max_index,
            "Background": config.background,
            "MaxDownresLevel": config.max_scale,
        },
        "Extents": {"MinPoint": min_point, "MaxPoint": max_point},
    }


def metadata_json(config: ImageConfig, extents: Box | None) -> dict[str, Any]:
    """DVID's ``GET metadata`` answer (``application/vnd.dvid-nd-data+json``)."""
    box = extents if extents is not None else Box((0, 0, 0), (0, 0, 0))
    axes = []
    for label, axis in (("X", 2), ("Y", 1), ("Z", 0)):
        axes.append(
            {
                "Label": label,
                "Resolution": config.voxel_size[axis],
                "Units": config.voxel_units,
                "Size": box.shape[axis],
                "Offset": box.start[axis],
            }
        )
    return {
        "Axes": axes,
        "Properties": {"Values": [{"DataType": config.dtype, "Label": ""}], "Interpolable": True},
    }


def _coordinate(value: Any, what: str) -> int:
    """One voxel coordinate of an extents point: an integer (or its decimal text)."""
    if isinstance(value, str):
        return parse_coord(value.strip(), what)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"{what} must be integers, got {type(value).__name__}")
    if not -COORD_LIMIT <= value <= COORD_LIMIT:
        raise InvalidRequest(f"{what} coordinate {value} is outside ±2**62")
    return int(value)


def parse_extents_body(body: Any) -> Box:
    """The box of a ``POST extents`` body ``{"MinPoint": [x,y,z], "MaxPoint": [x,y,z]}``.

    Points are inclusive; numbers may be given as strings (DVID clients send both).
    """
    if not isinstance(body, Mapping):
        raise InvalidRequest("extents body must be a JSON object with MinPoint and MaxPoint")
    lowered = {str(k).lower(): v for k, v in body.items()}
    points = []
    for name in ("MinPoint", "MaxPoint"):
        value = lowered.get(name.lower())
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or len(value) != 3:
            raise InvalidRequest(f"extents {name} must be 3 integers [x, y, z], got {value!r}")
        points.append([_coordinate(v, f"extents {name}") for v in value])
    lo, hi = points
    if any(a > b for a, b in zip(lo, hi, strict=True)):
        raise InvalidRequest(f"extents MinPoint {lo} exceeds MaxPoint {hi}")
    return Box((lo[2], lo[1], lo[0]), (hi[2] + 1, hi[1] + 1, hi[0] + 1))


def extend_extents(view: VersionedView, box: Box) -> None:
    """Grow the recorded extents to cover ``box`` (they never shrink below written data).

    DVID replaces its extents outright; voxhub's extents are the bounds of the data and
    open slice ends use them, so a posted box is merged in rather than hiding voxels.
    """
    view.check_writable()

    view.transact(lambda txn: grow_extents(txn, box))
