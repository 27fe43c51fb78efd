"""DVID's instance-creation settings of image instances → an :class:`ImageConfig`.

``uint8blk`` & co use ``BlockSize``, ``VoxelSize``, ``VoxelUnits``, ``Compression``,
``MaxDownresLevel``, ``Background`` and ``Anisotropic`` (sizes ``x,y,z`` on the wire) and
ignore every other setting (DVID's ``Compression: snappy`` too: no voxhub codec, the
default serves). This is the ``config_from_settings`` hook of the ``imageblk`` datatype,
and :func:`check_image_config` its ``check_config`` hook (a stored config posted as JSON).
"""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.imageblk.config import ImageConfig, typename_for
from voxhub.datatypes.wire.dvid_settings import (
    DVID_ONLY_COMPRESSION,
    FromSettings,
    parse_bool,
    parse_compression,
    parse_number,
    parse_xyz,
    setting_text,
    unused,
)
from voxhub.errors import InvalidRequest

IMAGE_KEYS = frozenset(
    {
        "blocksize",
        "voxelsize",
        "voxelunits",
        "compression",
        "maxdownreslevel",
        "background",
        "anisotropic",
    }
)


def image_config_from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    """The stored config of a new ``typename`` instance from DVID's (lower-cased) settings,
    and the settings it ignored."""
    ignored = unused(settings, IMAGE_KEYS)
    used = {k: v for k, v in settings.items() if k not in ignored}
    kwargs = image_kwargs(used)
    if kwargs.get("codec", {}).get("name") in DVID_ONLY_COMPRESSION:
        del kwargs["codec"]
        ignored |= {"compression"}
    kwargs["dtype"] = typename.removesuffix("blk")
    try:
        return FromSettings(ImageConfig.create(**kwargs).to_json(), ignored)
    except InvalidRequest as e:
        raise InvalidRequest(f"instance settings: {e}") from None


def check_image_config(typename: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked the way :class:`ImageConfig` checks it, dtype matching typename."""
    try:
        parsed = ImageConfig.from_json(config)
    except TypeError as e:
        raise InvalidRequest(f"config of a {typename} instance: {e}") from None
    if typename_for(parsed.dtype) != typename:
        raise InvalidRequest(f"config dtype {parsed.dtype} does not match typename {typename}")
    return parsed.to_json()


def image_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :meth:`ImageConfig.create` from the settings images share."""
    kwargs: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "blocksize":
            kwargs["block_shape"] = parse_xyz("BlockSize", value, int)
        elif key == "voxelsize":
            kwargs["voxel_size"] = parse_xyz("VoxelSize", value, float)
        elif key == "voxelunits":
            units = {u.strip() for u in setting_text("VoxelUnits", value).split(",")}
            if len(units) != 1:
                raise InvalidRequest(f"setting 'VoxelUnits' must name one unit, got {value!r}")
            kwargs["voxel_units"] = units.pop()
        elif key == "compression":
            kwargs["codec"] = parse_compression(value)
        elif key == "maxdownreslevel":
            try:
                kwargs["max_scale"] = int(setting_text("MaxDownresLevel", value))
            except ValueError:
                raise InvalidRequest(
                    f"setting 'MaxDownresLevel' must be an integer, got {value!r}"
                ) from None
        elif key == "background":
            kwargs["background"] = parse_number("Background", value)
        elif key == "anisotropic":
            kwargs["anisotropic"] = parse_bool("Anisotropic", value)
    return kwargs
