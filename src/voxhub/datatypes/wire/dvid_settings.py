"""DVID's instance-creation settings: the parsing every datatype shares.

DVID clients send every setting as a string, with case-insensitive keys and sizes in
``x,y,z`` order: ``{"typename": "uint8blk", "dataname": "grayscale", "BlockSize":
"64,64,64", "VoxelSize": "8,8,8", "Compression": "jpeg:80", "MaxDownresLevel": "3"}``.
Numbers are accepted too (DVID rejects them); sizes become ``z, y, x`` here, once. Each
datatype turns the settings it knows into its config through its registry hook
``config_from_settings``; an unknown key is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voxhub.errors import InvalidRequest

#: accepted for compatibility and ignored by every datatype (no checksums, tags or syncs)
IGNORED_KEYS = frozenset({"checksum", "tags", "sync", "kvstore", "logstore", "interpolable"})
_BOOL_STRINGS = {"true": True, "1": True, "false": False, "0": False}


def setting_text(key: str, value: Any) -> str:
    """A setting as stripped text (DVID sends strings; JSON numbers are accepted too)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidRequest(f"setting {key!r} must be a string, got {value!r}")
    return str(value).strip()


def parse_bool(key: str, value: Any) -> bool:
    """``true``/``false``/``1``/``0`` (string or JSON bool)."""
    if isinstance(value, bool):
        return value
    flag = _BOOL_STRINGS.get(setting_text(key, value).lower())
    if flag is None:
        raise InvalidRequest(f"setting {key!r} must be true or false, got {value!r}")
    return flag


def parse_xyz(key: str, value: Any, cast: type[int] | type[float]) -> tuple[Any, Any, Any]:
    """``"x,y,z"`` (or one number for all three, or a JSON list) as ``(z, y, x)``."""
    items = value if isinstance(value, list) else setting_text(key, value).split(",")
    try:
        nums = [cast(str(v).strip()) for v in items]
    except ValueError:
        raise InvalidRequest(f"setting {key!r} must be 3 numbers 'x,y,z', got {value!r}") from None
    if len(nums) == 1:
        nums = nums * 3
    if len(nums) != 3:
        raise InvalidRequest(f"setting {key!r} must be 3 numbers 'x,y,z', got {value!r}")
    return nums[2], nums[1], nums[0]  # x,y,z -> z,y,x


def parse_number(key: str, value: Any) -> int | float:
    """An int if the text is one, else a float."""
    text = setting_text(key, value)
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise InvalidRequest(f"setting {key!r} must be a number, got {value!r}") from None


def parse_compression(value: Any) -> dict[str, Any]:
    """``"jpeg:80"``, ``"zstd"``, ``"gzip:5"``, ``"lz4"``, ``"none"`` → a codec spec."""
    text = setting_text("Compression", value).lower()
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


def refuse_unknown(settings: dict[str, Any], known: Iterable[str], typename: str) -> None:
    """400 naming every setting of ``settings`` that ``typename`` does not take."""
    allowed = sorted(known)
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise InvalidRequest(f"unknown settings {unknown} for {typename}; known: {allowed}")
