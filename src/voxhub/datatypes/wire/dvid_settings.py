"""DVID's instance-creation settings: the parsing every datatype shares.

DVID clients send every setting as a string, with case-insensitive keys and sizes in
``x,y,z`` order: ``{"typename": "uint8blk", "dataname": "grayscale", "BlockSize":
"64,64,64", "VoxelSize": "8,8,8", "Compression": "jpeg:80", "MaxDownresLevel": "3"}``.
Numbers are accepted too (DVID rejects them); sizes become ``z, y, x`` here, once.

As in DVID, a setting a datatype does not use is ignored, not refused (neuclease sends
``CountLabels``, a labelarray setting, to every labelmap; ``Checksum``, ``Sync``,
``GridStore``... have no voxhub meaning; ``Tags`` become the instance's tags). A setting
DVID parses (:data:`DVID_CHECKS`) is still checked, used or not: a malformed value is a
400 naming it, as in DVID. Each
datatype turns the settings it uses into its config through its registry hook
``config_from_settings``, which answers :class:`FromSettings`: the config and the
(lower-cased) keys it ignored; the server lists them, as the client spelled them, in
its answer and keeps them in the instance record (``Base.IgnoredSettings`` of ``info``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from voxhub.codecs import known_codecs
from voxhub.errors import InvalidRequest

_BOOL_STRINGS = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class FromSettings:
    """What a datatype made of DVID's creation settings."""

    #: the stored config of the new instance
    config: dict[str, Any]
    #: the lower-cased setting keys it did not use
    ignored: frozenset[str] = frozenset()


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


#: DVID's compression names that no voxhub codec implements (the default codec serves)
DVID_ONLY_COMPRESSION = frozenset({"snappy"})


def parse_compression(value: Any, key: str = "Compression") -> dict[str, Any]:
    """``"jpeg:80"``, ``"zstd"``, ``"gzip:5"``, ``"lz4"``, ``"none"`` → a codec spec
    (DVID's ``snappy`` too: :data:`DVID_ONLY_COMPRESSION`); another name is a 400."""
    text = setting_text(key, value).lower()
    name, _, level = text.partition(":")
    name = {"none": "raw", "": "zstd"}.get(name, name)
    if name not in DVID_ONLY_COMPRESSION and name not in known_codecs():
        raise InvalidRequest(
            f"setting {key!r} {value!r}: unknown compression {name!r} (known: none, "
            f"{', '.join(sorted(DVID_ONLY_COMPRESSION | set(known_codecs())))})"
        )
    if not level:
        return {"name": name}
    try:
        number = int(level)
    except ValueError:
        raise InvalidRequest(f"setting {key!r} has a bad level in {value!r}") from None
    option = "quality" if name == "jpeg" else "level"
    return {"name": name, "configuration": {option: number}}


def unused(settings: dict[str, Any], used: Iterable[str]) -> frozenset[str]:
    """The keys of ``settings`` that a datatype using ``used`` ignores."""
    return frozenset(settings) - frozenset(used)


def parse_checksum(key: str, value: Any) -> str:
    """DVID's ``Checksum``: ``none`` or ``crc32``."""
    text = setting_text(key, value).lower()
    if text not in ("none", "crc32"):
        raise InvalidRequest(f"setting {key!r} must be none or crc32, got {value!r}")
    return text


def parse_nonnegative(key: str, value: Any, most: int) -> int:
    """A decimal integer in ``0..most``."""
    text = setting_text(key, value)
    if not text.isascii() or not text.isdigit() or len(text) > len(str(most)):
        raise InvalidRequest(f"setting {key!r} must be an integer 0..{most}, got {value!r}")
    number = int(text)
    if number > most:
        raise InvalidRequest(f"setting {key!r} must be an integer 0..{most}, got {value!r}")
    return number


def parse_tags(key: str, value: Any) -> dict[str, str]:
    """DVID's ``Tags`` setting ``"name=value,name=value"`` as a dict; as in DVID, a piece
    that is not ``name=value`` with a non-empty name is skipped."""
    tags = {}
    for piece in setting_text(key, value).split(","):
        name, sep, text = piece.partition("=")
        if sep and name and "=" not in text:
            tags[name] = text
    return tags


def _xyz_ints(key: str, value: Any) -> object:
    return parse_xyz(key, value, int)


def _xyz_floats(key: str, value: Any) -> object:
    return parse_xyz(key, value, float)


def _levels(key: str, value: Any) -> object:
    return parse_nonnegative(key, value, 255)  # DVID stores it in a uint8


#: every setting DVID's labelmap and imageblk types (and its datastore) parse, with a
#: check of its value: a malformed one is refused even by a datatype that ignores it
DVID_CHECKS: dict[str, Callable[[str, Any], object]] = {
    "blocksize": _xyz_ints,
    "voxelsize": _xyz_floats,
    "voxelunits": setting_text,
    "minpoint": _xyz_ints,
    "maxpoint": _xyz_ints,
    "minindex": _xyz_ints,
    "maxindex": _xyz_ints,
    "background": lambda key, value: parse_number(key, value),
    "gridstore": setting_text,
    "scalelevel": lambda key, value: parse_nonnegative(key, value, 2**31 - 1),
    "maxdownreslevel": _levels,
    "indexedlabels": parse_bool,
    "countlabels": parse_bool,
    "compression": lambda key, value: parse_compression(value, key),
    "checksum": parse_checksum,
    "tags": parse_tags,
    "sync": setting_text,
    "versioned": parse_bool,
    "anisotropic": parse_bool,
}


def check_dvid_settings(settings: dict[str, Any], names: dict[str, str]) -> None:
    """400 naming the first setting DVID parses whose value is malformed (``names``:
    lower-cased key -> the client's spelling)."""
    for key, value in settings.items():
        check = DVID_CHECKS.get(key)
        if check is not None:
            check(names.get(key, key), value)
