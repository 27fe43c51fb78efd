"""DVID instance-creation settings → ImageConfig (string values, x,y,z → z,y,x)."""

from __future__ import annotations

import pytest

from voxhub.datatypes.wire.dvid_settings import parse_compression
from voxhub.errors import CapabilityError, InvalidRequest
from voxhub.server.settings import parse_new_instance


def test_string_settings_are_converted_once_to_zyx() -> None:
    new = parse_new_instance(
        {
            "typename": "uint8blk",
            "dataname": "grayscale",
            "BlockSize": "16,32,64",
            "VoxelSize": "4,4,40",
            "VoxelUnits": "nanometers",
            "Compression": "jpeg:80",
            "MaxDownresLevel": "2",
            "versioned": "false",
            "Checksum": "crc32",
        }
    )
    assert (new.typename, new.name, new.versioned) == ("uint8blk", "grayscale", False)
    assert new.config["block_shape"] == [64, 32, 16]
    assert new.config["voxel_size"] == [40.0, 4.0, 4.0]
    assert new.config["codec"] == {"name": "jpeg", "configuration": {"quality": 80}}
    assert new.config["max_scale"] == 2


def test_keys_are_case_insensitive_and_numbers_accepted() -> None:
    new = parse_new_instance({"TypeName": "uint16blk", "DataName": "d", "blocksize": 32})
    assert new.config["block_shape"] == [32, 32, 32]
    assert new.config["dtype"] == "uint16"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"dataname": "d"}, "typename"),
        ({"typename": "uint8blk"}, "dataname"),
        ({"typename": "uint8blk", "dataname": "d", "BlockSize": "1,2"}, "BlockSize"),
        ({"typename": "uint8blk", "dataname": "d", "VoxelSize": "a,b,c"}, "VoxelSize"),
        ({"typename": "uint8blk", "dataname": "d", "MaxDownresLevel": "x"}, "MaxDownresLevel"),
        ({"typename": "uint8blk", "dataname": "d", "versioned": "maybe"}, "versioned"),
        ({"typename": "uint8blk", "dataname": "d", "Versioned": "maybe"}, "Versioned"),
        ({"typename": "uint8blk", "dataname": "d", "Checksum": "md5"}, "Checksum"),
        ({"typename": "uint8blk", "dataname": "d", "CountLabels": "maybe"}, "CountLabels"),
        ({"typename": "uint8blk", "dataname": "d", "ScaleLevel": "-1"}, "ScaleLevel"),
        ({"typename": "uint8blk", "dataname": "d", "MinPoint": "0,x,0"}, "MinPoint"),
        ({"typename": "uint8blk", "dataname": "d", "Compression": "bogus"}, "Compression"),
        ({"typename": "uint8blk", "dataname": "d", "BlockSize": ["a"]}, "BlockSize"),
        ({"typename": "uint8blk", "dataname": "d", "VoxelUnits": "nm,um,nm"}, "VoxelUnits"),
        ({"typename": "nosuchblk", "dataname": "d"}, "nosuchblk"),
    ],
)
def test_bad_settings_name_the_field(body: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidRequest, match=named):
        parse_new_instance(body)


def test_compression_strings() -> None:
    assert parse_compression("none") == {"name": "raw"}
    assert parse_compression("LZ4") == {"name": "lz4"}
    assert parse_compression("gzip:5") == {"name": "gzip", "configuration": {"level": 5}}
    with pytest.raises(InvalidRequest, match="level"):
        parse_compression("zstd:high")


def test_types_without_http_creation_are_501(monkeypatch: pytest.MonkeyPatch) -> None:
    from voxhub.datatypes import registry

    registry.typenames()
    fake = registry.Datatype("fake", ("fakeblk",), lambda k: k.hex(), "fake")
    monkeypatch.setitem(registry._registry, "fakeblk", fake)
    with pytest.raises(CapabilityError):
        parse_new_instance({"typename": "fakeblk", "dataname": "d"})
