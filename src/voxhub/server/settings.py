"""DVID instance-creation settings (``POST /api/repo/{uuid}/instance``) → our config.

DVID clients send every setting as a string, with case-insensitive keys and sizes in
``x,y,z`` order: ``{"typename": "uint8blk", "dataname": "grayscale", "BlockSize":
"64,64,64", "VoxelSize": "8,8,8", "Compression": "jpeg:80", "MaxDownresLevel": "3"}``.
This module is the one place those strings become an :class:`ImageConfig` (``z, y, x``).
Numbers are accepted too (DVID rejects them); an unknown key is a 400 naming it.

``labelmap`` takes ``BlockSize`` (default ``64,64,64``, each side a multiple of 16 as
DVID requires), ``VoxelSize``, ``VoxelUnits``, ``MaxDownresLevel`` (default 0) and
``IndexedLabels`` (only ``true``: voxhub always keeps the label index). Its blocks are
always stored as compressed_segmentation + zstd, so ``Compression`` is accepted and
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.imageblk import ImageConfig
from voxhub.datatypes.registry import datatype_for
from voxhub.errors import CapabilityError, InvalidRequest

#: accepted for compatibility and ignored (no checksums, tags or syncs on image types yet)
IGNORED_KEYS = frozenset({"checksum", "tags", "sync", "kvstore", "logstore", "interpolable"})
_IMAGE_KEYS = frozenset(
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
_LABEL_KEYS = frozenset(
    {"blocksize", "voxelsize", "voxelunits", "maxdownreslevel", "indexedlabels", "compression"}
)
#: DVID's rule for labelmap blocks (voxhub itself needs only multiples of 8)
LABEL_BLOCK_MULTIPLE = 16
_BOOL_STRINGS = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class NewInstance:
    """A validated request to create an instance."""

    typename: str
    name: str
    versioned: bool
    config: dict[str, Any]


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidRequest(f"setting {key!r} must be a string, got {value!r}")
    return str(value).strip()


def parse_bool(key: str, value: Any) -> bool:
    """``true``/``false``/``1``/``0`` (string or JSON bool)."""
    if isinstance(value, bool):
        return value
    flag = _BOOL_STRINGS.get(_text(key, value).lower())
    if flag is None:
        raise InvalidRequest(f"setting {key!r} must be true or false, got {value!r}")
    return flag


def _xyz_numbers(key: str, value: Any, cast: type[int] | type[float]) -> tuple[Any, Any, Any]:
    items = value if isinstance(value, list) else _text(key, value).split(",")
    try:
        nums = [cast(str(v).strip()) for v in items]
    except ValueError:
        raise InvalidRequest(f"setting {key!r} must be 3 numbers 'x,y,z', got {value!r}") from None
    if len(nums) == 1:
        nums = nums * 3
    if len(nums) != 3:
        raise InvalidRequest(f"setting {key!r} must be 3 numbers 'x,y,z', got {value!r}")
    return nums[2], nums[1], nums[0]  # x,y,z -> z,y,x


def parse_compression(value: Any) -> dict[str, Any]:
    """``"jpeg:80"``, ``"zstd"``, ``"gzip:5"``, ``"lz4"``, ``"none"`` → a codec spec."""
    text = _text("Compression", value).lower()
    name, _, level = text.partition(":")
    name = {"none": "raw", "": "zstd"}.get(name, name)
    if not level:
        return {"name": name}
    try:
        number = int(level)
    except ValueError:
        raise InvalidRequest(f"setting 'Compression' has a bad level in {value!r}") from None
    option = "quality" if name == "jpeg" else "level"
    return {"name": name, "configuration": {option: number}}


def _image_config(typename: str, settings: dict[str, Any]) -> dict[str, Any]:
    kwargs = _image_kwargs(settings)
    kwargs["dtype"] = typename.removesuffix("blk")
    try:
        return ImageConfig.create(**kwargs).to_json()
    except InvalidRequest as e:
        raise InvalidRequest(f"instance settings: {e}") from None


def _label_config(settings: dict[str, Any]) -> dict[str, Any]:
    """A labelmap config built as ``Node.create_labels`` builds it (uint64, cseg codec)."""
    indexed = parse_bool("IndexedLabels", settings.pop("indexedlabels", True))
    if not indexed:
        raise InvalidRequest(
            "setting 'IndexedLabels' must be true: voxhub always keeps the label index"
        )
    settings.pop("compression", None)  # blocks are always cseg + zstd
    kwargs: dict[str, Any] = {"block_shape": (64, 64, 64), "voxel_size": (8.0, 8.0, 8.0)}
    kwargs.update(_image_kwargs(settings))
    odd = [s for s in kwargs["block_shape"] if s % LABEL_BLOCK_MULTIPLE]
    if odd:
        bz, by, bx = kwargs["block_shape"]
        raise InvalidRequest(
            f"setting 'BlockSize' {bx},{by},{bz}: every side of a labelmap block must be a "
            f"positive multiple of {LABEL_BLOCK_MULTIPLE}"
        )
    try:
        return ImageConfig.create(dtype="uint64", codec={"name": "cseg"}, **kwargs).to_json()
    except InvalidRequest as e:
        raise InvalidRequest(f"instance settings: {e}") from None


def _image_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "blocksize":
            kwargs["block_shape"] = _xyz_numbers("BlockSize", value, int)
        elif key == "voxelsize":
            kwargs["voxel_size"] = _xyz_numbers("VoxelSize", value, float)
        elif key == "voxelunits":
            units = {u.strip() for u in _text("VoxelUnits", value).split(",")}
            if len(units) != 1:
                raise InvalidRequest(f"setting 'VoxelUnits' must name one unit, got {value!r}")
            kwargs["voxel_units"] = units.pop()
        elif key == "compression":
            kwargs["codec"] = parse_compression(value)
        elif key == "maxdownreslevel":
            try:
                kwargs["max_scale"] = int(_text("MaxDownresLevel", value))
            except ValueError:
                raise InvalidRequest(
                    f"setting 'MaxDownresLevel' must be an integer, got {value!r}"
                ) from None
        elif key == "background":
            kwargs["background"] = _xyz_or_number("Background", value)
        elif key == "anisotropic":
            kwargs["anisotropic"] = parse_bool("Anisotropic", value)
    return kwargs


def _xyz_or_number(key: str, value: Any) -> int | float:
    text = _text(key, value)
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise InvalidRequest(f"setting {key!r} must be a number, got {value!r}") from None


def parse_new_instance(body: dict[str, Any]) -> NewInstance:
    """Validate a DVID instance-creation body (keys case-insensitive)."""
    settings = {str(k).lower(): v for k, v in body.items()}
    typename = settings.pop("typename", None)
    name = settings.pop("dataname", None)
    if not isinstance(typename, str) or not typename:
        raise InvalidRequest("field 'typename' is required (e.g. \"uint8blk\")")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("field 'dataname' is required")
    versioned = parse_bool("versioned", settings.pop("versioned", True))
    datatype = datatype_for(typename)
    for key in IGNORED_KEYS:
        settings.pop(key, None)
    known = {"imageblk": _IMAGE_KEYS, "labelmap": _LABEL_KEYS}.get(datatype.name)
    if known is None:
        raise CapabilityError(f"creating {typename!r} instances over HTTP is not supported yet")
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InvalidRequest(f"unknown settings {unknown} for {typename}; known: {sorted(known)}")
    if datatype.name == "labelmap":
        return NewInstance(typename, name, versioned, _label_config(settings))
    return NewInstance(typename, name, versioned, _image_config(typename, settings))
