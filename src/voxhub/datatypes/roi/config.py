"""The stored configuration of an roi instance, and DVID's creation settings for it.

An roi has one setting, DVID's ``BlockSize`` (``x,y,z`` on the wire, default ``32,32,32``
as in DVID): the voxels per block its spans count in. The stored config is
``{"block_shape": [z, y, x]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.wire.dvid_settings import FromSettings, parse_xyz, unused
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3

#: DVID's default roi block size
DEFAULT_BLOCK_SIZE = 32
#: the largest block edge accepted (DVID allows any int32; a mask of one span of such
#: blocks would already be huge, and the masking arithmetic stays in int64)
MAX_BLOCK_EDGE = 1 << 16
ROI_SETTINGS = frozenset({"blocksize"})


@dataclass(frozen=True)
class RoiConfig:
    """``block_shape``: voxels per block ``(z, y, x)``."""

    block_shape: Vec3 = (DEFAULT_BLOCK_SIZE, DEFAULT_BLOCK_SIZE, DEFAULT_BLOCK_SIZE)

    @classmethod
    def create(
        cls, block_size: int | tuple[int, int, int] | list[int] = DEFAULT_BLOCK_SIZE
    ) -> RoiConfig:
        """A config with a cubic ``block_size`` or a ``(z, y, x)`` block shape, checked."""
        if isinstance(block_size, bool):
            raise InvalidRequest(f"roi block size must be a positive integer, got {block_size!r}")
        shape = (block_size,) * 3 if isinstance(block_size, int) else tuple(block_size)
        if len(shape) != 3 or any(
            isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_BLOCK_EDGE
            for v in shape
        ):
            raise InvalidRequest(
                f"roi block size must be 1..{MAX_BLOCK_EDGE} voxels per axis, got {block_size!r}"
            )
        return cls((int(shape[0]), int(shape[1]), int(shape[2])))

    @classmethod
    def from_json(cls, config: dict[str, Any]) -> RoiConfig:
        shape = config.get("block_shape", [DEFAULT_BLOCK_SIZE] * 3)
        if not isinstance(shape, list | tuple):
            raise InvalidRequest(f"roi config block_shape must be [z, y, x], got {shape!r}")
        return cls.create(list(shape))

    def to_json(self) -> dict[str, Any]:
        return {"block_shape": list(self.block_shape)}


def roi_config_from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    """The ``config_from_settings`` hook: DVID's ``BlockSize`` (others are ignored)."""
    ignored = unused(settings, ROI_SETTINGS)
    if "blocksize" not in settings:
        return FromSettings(RoiConfig().to_json(), ignored)
    z, y, x = parse_xyz("BlockSize", settings["blocksize"], int)
    try:
        return FromSettings(RoiConfig.create((z, y, x)).to_json(), ignored)
    except InvalidRequest as e:
        raise InvalidRequest(f"instance settings: {e}") from None


def check_roi_config(typename: str, config: dict[str, Any]) -> dict[str, Any]:
    """The ``check_config`` hook: a posted stored config checked as :class:`RoiConfig`."""
    extra = set(config) - {"block_shape"}
    if extra:
        raise InvalidRequest(f"config of an roi instance: unknown keys {sorted(extra)}")
    return RoiConfig.from_json(config).to_json()
