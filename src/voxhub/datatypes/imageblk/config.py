"""Configuration of an image instance, stored as JSON in the instance metadata."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property, partial
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.cache_stats import cache_stats
from voxhub.codecs import BlockCodec, codec_from_json
from voxhub.datatypes.imageblk.keys import block_key
from voxhub.errors import InvalidRequest
from voxhub.geometry import BlockGrid, Vec3, vec3
from voxhub.versioning.records import InstanceInfo

DTYPES = ("uint8", "uint16", "uint32", "uint64", "float32")
MAX_BLOCK_SIDE = 512
MAX_SCALE = 20

_TYPENAMES = {d: f"{d}blk" for d in DTYPES}


def typename_for(dtype: str) -> str:
    """DVID's typename for an image instance of ``dtype`` (``"uint8"`` → ``"uint8blk"``)."""
    try:
        return _TYPENAMES[str(np.dtype(dtype))]
    except (KeyError, TypeError):
        raise InvalidRequest(f"no image type for dtype {dtype!r}; known: {DTYPES}") from None


def _default_codec() -> dict[str, Any]:
    return {"name": "zstd", "configuration": {"level": 1}}


#: zstd frame size an image block is cut into by default (z slabs of about this many
#: bytes): an xy slice or unaligned cutout then decodes only the slabs it needs, and
#: 64 KiB frames compress EM as well as whole 256 KiB blocks (bench/README.md)
FRAME_BYTES = 64 << 10


def _with_frame_planes(spec: dict[str, Any], dtype: str, block: Vec3) -> dict[str, Any]:
    """A zstd spec that does not say ``frame_planes`` gets ~:data:`FRAME_BYTES` frames."""
    configuration = spec.get("configuration", {})
    if spec.get("name") != "zstd" or not isinstance(configuration, Mapping):
        return spec
    if "frame_planes" in configuration:
        return spec
    plane = block[1] * block[2] * np.dtype(dtype).itemsize
    planes = max(1, FRAME_BYTES // plane)
    return {
        **spec,
        "configuration": {**configuration, "frame_planes": planes if planes < block[0] else 0},
    }


@dataclass(frozen=True)
class ImageConfig:
    """Settings of one image volume. All shapes and sizes are ``(z, y, x)``.

    ``max_scale`` N keeps pyramid levels 1..N, each a 2x mean downsampling of the level
    below, in z, y and x, or in y and x only when ``anisotropic`` (ndstore's ZSLICES
    datasets, whose z resolution is much coarser than x and y).
    Build with :meth:`create` (validates) or :meth:`from_json`.
    """

    dtype: str
    block_shape: Vec3 = (64, 64, 64)
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    voxel_units: str = "nanometers"
    codec: dict[str, Any] = field(default_factory=_default_codec)
    max_scale: int = 0
    anisotropic: bool = False
    background: int | float = 0

    @classmethod
    def create(cls, **kwargs: Any) -> ImageConfig:
        """Validate every field (:class:`InvalidRequest` names the bad one) and build."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(kwargs) - known
        if unknown:
            raise InvalidRequest(f"unknown image config fields {sorted(unknown)}")
        if "dtype" not in kwargs:
            raise InvalidRequest("image config needs a dtype")
        dtype = str(kwargs["dtype"])
        if dtype not in DTYPES:
            raise InvalidRequest(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        block = vec3(kwargs.get("block_shape", (64, 64, 64)), "block_shape")
        if not all(0 < s <= MAX_BLOCK_SIDE for s in block):
            raise InvalidRequest(
                f"block_shape must be in 1..{MAX_BLOCK_SIDE} per axis, got {block}"
            )
        voxel_size = _voxel_size(kwargs.get("voxel_size", (1.0, 1.0, 1.0)))
        units = kwargs.get("voxel_units", "nanometers")
        if not isinstance(units, str) or not units:
            raise InvalidRequest(f"voxel_units must be a non-empty string, got {units!r}")
        max_scale = kwargs.get("max_scale", 0)
        if isinstance(max_scale, bool) or not isinstance(max_scale, int):
            raise InvalidRequest(f"max_scale must be an integer, got {max_scale!r}")
        if not 0 <= max_scale <= MAX_SCALE:
            raise InvalidRequest(f"max_scale must be in 0..{MAX_SCALE}, got {max_scale}")
        anisotropic = kwargs.get("anisotropic", False)
        if not isinstance(anisotropic, bool):
            raise InvalidRequest(f"anisotropic must be true or false, got {anisotropic!r}")
        config = cls(
            dtype=dtype,
            block_shape=block,
            voxel_size=voxel_size,
            voxel_units=units,
            codec=_with_frame_planes(
                _codec_spec(kwargs.get("codec", _default_codec())), dtype, block
            ),
            max_scale=max_scale,
            anisotropic=anisotropic,
            background=_background(kwargs.get("background", 0), dtype),
        )
        codec = config.make_codec()
        codec.validate(dtype, block)
        config = cls(**{**asdict(config), "codec": codec.to_json()})
        if max_scale > 0:
            factor = config.downsample_factor
            odd = [s for s, f in zip(block, factor, strict=True) if f == 2 and s % 2]
            if odd:
                raise InvalidRequest(
                    f"block_shape {block} must be even along downsampled axes when max_scale > 0"
                )
        return config

    @property
    def downsample_factor(self) -> Vec3:
        """The per-axis factor between consecutive scales: (2, 2, 2) or (1, 2, 2)."""
        return (1, 2, 2) if self.anisotropic else (2, 2, 2)

    def scale_factor(self, scale: int) -> Vec3:
        """The per-axis factor between scale 0 and ``scale``."""
        f = self.downsample_factor
        return (f[0] ** scale, f[1] ** scale, f[2] ** scale)

    def check_scale(self, scale: object, name: str) -> int:
        """``scale`` if it is an integer level of this pyramid (InvalidRequest otherwise)."""
        if isinstance(scale, bool) or not isinstance(scale, int):
            raise InvalidRequest(f"scale must be an integer, got {scale!r}")
        if not 0 <= scale <= self.max_scale:
            raise InvalidRequest(f"scale {scale} out of range 0..{self.max_scale} for {name!r}")
        return scale

    def layout(self, scale: int, codec: BlockCodec | None = None) -> BlockLayout:
        """How blocks of pyramid level ``scale`` are stored (same grid at every scale)."""
        if codec is None:  # the config's own: made once per scale (a request asks often)
            found = self._layouts.get(scale)
            if found is None:
                found = self._layouts.setdefault(scale, self.layout(scale, self.make_codec()))
            return found
        return BlockLayout(
            BlockGrid(self.block_shape),
            np.dtype(self.dtype),
            codec,
            partial(block_key, scale),
            self.background,
        )

    @cached_property
    def _layouts(self) -> dict[int, BlockLayout]:
        # layouts and codecs are immutable (codecs keep their zstd state per thread), so
        # one per scale serves every caller of this config
        return {}

    def make_codec(self) -> BlockCodec:
        """The codec object described by :attr:`codec`."""
        return codec_from_json(self.codec)

    def to_json(self) -> dict[str, Any]:
        """A JSON object :meth:`from_json` turns back into an equal config."""
        out = asdict(self)
        out["block_shape"] = list(self.block_shape)
        out["voxel_size"] = list(self.voxel_size)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageConfig:
        """Parse and validate the output of :meth:`to_json`."""
        if not isinstance(data, Mapping):
            raise InvalidRequest(f"image config must be a JSON object, got {type(data).__name__}")
        # Every request to an instance parses its stored config (twice): validating and
        # copying it cost more than a neuroglancer chunk's read. Configs are frozen, so
        # one parsed object per distinct config text is kept.
        try:
            text = json.dumps(data, sort_keys=True)
        except (TypeError, ValueError):  # not JSON: let create() say what is wrong
            return cls.create(**dict(data))
        config, hit = _parsed(text)
        _CONFIG_STATS.count(hit=hit)
        return config


_CONFIG_STATS = cache_stats("image_config")
_CONFIG_CACHE: dict[str, ImageConfig] = {}
_CONFIG_CACHE_SIZE = 256
_CONFIG_LOCK = threading.Lock()


def _parsed(text: str) -> tuple[ImageConfig, bool]:
    """The config parsed from JSON ``text`` and whether it was kept already (bounded:
    the cache starts over when full; a server has few distinct instance configs)."""
    config = _CONFIG_CACHE.get(text)
    if config is not None:
        return config, True
    config = ImageConfig.create(**json.loads(text))
    with _CONFIG_LOCK:
        if len(_CONFIG_CACHE) >= _CONFIG_CACHE_SIZE:
            _CONFIG_CACHE.clear()
        _CONFIG_CACHE[text] = config
    return config, False


#: parsed configs per instance record object (see :func:`instance_config`)
_BY_RECORD: dict[int, tuple[InstanceInfo, ImageConfig]] = {}


def instance_config(info: InstanceInfo) -> ImageConfig:
    """The parsed config of the image instance ``info``, kept per record object.

    The catalog hands out one shared, frozen record per distinct stored bytes
    (:mod:`voxhub.versioning.decoded`), so a request reads its instance's record again but
    does not re-serialise its config to find the parsed one (as :meth:`ImageConfig.
    from_json` does, for any mapping). The entry holds the record itself, so its ``id`` is
    never another object's while it is kept; a changed record is another object."""
    found = _BY_RECORD.get(id(info))
    if found is not None and found[0] is info:
        return found[1]
    config = ImageConfig.from_json(info.config)
    with _CONFIG_LOCK:
        if len(_BY_RECORD) >= _CONFIG_CACHE_SIZE:
            _BY_RECORD.clear()
        _BY_RECORD[id(info)] = (info, config)
    return config


def _codec_spec(value: Any) -> dict[str, Any]:
    """A codec JSON spec; a bare name (``"zstd"``) means that codec's defaults."""
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"codec must be a name or a JSON object, got {value!r}")
    return dict(value)


def _voxel_size(value: Any) -> tuple[float, float, float]:
    try:
        items = [float(v) for v in value]
    except (TypeError, ValueError):
        raise InvalidRequest(f"voxel_size must be 3 numbers (z, y, x), got {value!r}") from None
    if len(items) != 3 or not all(math.isfinite(v) and v > 0 for v in items):
        raise InvalidRequest(f"voxel_size must be 3 positive numbers (z, y, x), got {value!r}")
    return (items[0], items[1], items[2])


def _background(value: Any, dtype: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"background must be a number, got {value!r}")
    with np.errstate(all="ignore"):
        cast = np.array(value).astype(dtype)
    if cast.item() != value:
        raise InvalidRequest(f"background {value!r} is not representable as {dtype}")
    return int(value) if dtype != "float32" else float(value)
