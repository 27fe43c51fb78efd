"""uint8blk (grayscale) as DVID clients read and write it: raw, slices, block streams, blocks."""

from __future__ import annotations

import gzip
import io
import itertools

import numpy as np
import pytest
from PIL import Image

from . import dvid_wire
from .conftest import DVID_BASE_KEYS, DVID_EXTENDED_KEYS, EM, Dvid

_names = itertools.count()


@pytest.fixture
def gray(dvid: Dvid) -> str:
    """A fresh, empty uint8blk with 32³ blocks at the open node."""
    name = f"gray{next(_names)}"
    dvid.create(name, "uint8blk", BlockSize="32,32,32", VoxelSize="4,4,40", MaxDownresLevel="1")
    return name


@pytest.mark.covers("uint8blk", "GET /info", "GET /metadata")
def test_info_and_metadata(dvid: Dvid) -> None:
    info = dvid.json(dvid.at("em", "info"))
    assert info["Base"]["TypeName"] == "uint8blk"
    assert info["Base"]["Name"] == "em"
    assert set(info["Base"]) >= DVID_BASE_KEYS
    extended = info["Extended"]
    assert set(extended) >= DVID_EXTENDED_KEYS | {"MaxDownresLevel"}
    assert extended["BlockSize"] == [32, 32, 32]
    assert extended["MaxDownresLevel"] == 1
    assert extended["Values"] == [{"DataType": "uint8", "Label": "em"}]
    assert extended["MinPoint"] == [0, 0, 0]
    assert extended["MaxPoint"] == [63, 63, 63]
    assert extended["MinIndex"] == [0, 0, 0]
    assert extended["MaxIndex"] == [1, 1, 1]
    metadata = dvid.json(dvid.at("em", "metadata"))
    assert [a["Label"] for a in metadata["Axes"]] == ["X", "Y", "Z"]
    assert [a["Size"] for a in metadata["Axes"]] == [64, 64, 64]
    assert metadata["Properties"]["Values"][0]["DataType"] == "uint8"


@pytest.mark.covers(
    "uint8blk", "GET /raw/{dims}/{size}/{offset}", "GET /raw/{dims}/{size}/{offset}/{fmt}"
)
def test_raw_volume_and_slices(dvid: Dvid) -> None:
    cut = dvid.ok("GET", dvid.at("em", "raw/0_1_2/20_10_5/3_4_5")).content
    assert np.array_equal(np.frombuffer(cut, np.uint8).reshape(5, 10, 20), EM[5:10, 4:14, 3:23])
    png = dvid.ok("GET", dvid.at("em", "raw/xy/16_12/2_3_7/png"))
    assert png.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png.content))), EM[7, 3:15, 2:18])
    xz = dvid.ok("GET", dvid.at("em", "raw/xz/16_12/2_3_7")).content  # png by default
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(xz))), EM[7:19, 3, 2:18])
    jpg = dvid.ok("GET", dvid.at("em", "raw/xy/16_16/0_0_0/jpg:90"))
    assert jpg.headers["content-type"] == "image/jpeg"
    assert jpg.content[:2] == b"\xff\xd8"
    half = dvid.ok("GET", dvid.at("em", "raw/0_1_2/32_32_32/0_0_0"), params={"scale": "1"})
    assert len(half.content) == 32**3


@pytest.mark.covers(
    "uint8blk",
    "GET /isotropic/{dims}/{size}/{offset}",
    "GET /isotropic/{dims}/{size}/{offset}/{fmt}",
    "GET /arb/{top_left}/{top_right}/{bottom_left}/{res}",
    "GET /arb/{top_left}/{top_right}/{bottom_left}/{res}/{fmt}",
)
def test_isotropic_and_arb(dvid: Dvid) -> None:
    iso = dvid.ok("GET", dvid.at("em", "isotropic/0_1_2/8_8_8/0_0_0")).content
    assert np.array_equal(np.frombuffer(iso, np.uint8).reshape(8, 8, 8), EM[:8, :8, :8])
    iso_png = dvid.ok("GET", dvid.at("em", "isotropic/xy/8_8/0_0_2/png")).content
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(iso_png))), EM[2, :8, :8])
    arb = dvid.ok("GET", dvid.at("em", "arb/0_0_5/16_0_5/0_16_5/1/png")).content
    assert Image.open(io.BytesIO(arb)).size == (16, 16)
    arb_default = dvid.ok("GET", dvid.at("em", "arb/0_0_5/16_0_5/0_16_5/1")).content
    assert arb_default[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.covers("uint8blk", "GET /subvolblocks/{size}/{offset}", "GET /specificblocks")
def test_subvolblocks_and_specificblocks(dvid: Dvid) -> None:
    url = dvid.at("em", "subvolblocks/64_64_64/0_0_0")
    stream = dvid_wire.parse_stream(dvid.ok("GET", url, params={"compression": "jpeg"}).content)
    assert len(stream) == 8
    first = Image.open(io.BytesIO(stream[(1, 0, 0)]))
    assert first.size == (32, 32 * 32)  # DVID's JPEG block: x wide, y*z tall
    raw = dvid_wire.parse_stream(
        dvid.ok("GET", url, params={"compression": "uncompressed"}).content
    )
    block = np.frombuffer(raw[(1, 1, 0)], np.uint8).reshape(32, 32, 32)
    assert np.array_equal(block, EM[:32, 32:, 32:])
    params = {"blocks": "0,1,1,7,7,7", "compression": "uncompressed"}
    specific = dvid_wire.parse_stream(
        dvid.ok("GET", dvid.at("em", "specificblocks"), params=params).content
    )
    assert list(specific) == [(0, 1, 1)]
    assert np.array_equal(
        np.frombuffer(specific[(0, 1, 1)], np.uint8).reshape(32, 32, 32), EM[32:, 32:, :32]
    )


@pytest.mark.covers("uint8blk", "GET /blocks/{offset}/{nblocks}", "POST /blocks/{offset}/{nblocks}")
def test_blocks_get_and_post(dvid: Dvid, gray: str) -> None:
    """``blocks/{x_y_z}/{spanX}``: spanX uncompressed blocks, each x fastest, no headers."""
    span = dvid.ok("GET", dvid.at("em", "blocks/0_1_0/2")).content
    got = np.frombuffer(span, np.uint8).reshape(2, 32, 32, 32)
    assert np.array_equal(got[0], EM[:32, 32:, :32])
    assert np.array_equal(got[1], EM[:32, 32:, 32:])
    data = np.arange(2 * 32**3, dtype=np.uint32).astype(np.uint8).reshape(2, 32, 32, 32)
    dvid.ok("POST", dvid.at(gray, "blocks/1_0_2/2"), data=data.tobytes())
    back = dvid.ok("GET", dvid.at(gray, "raw/0_1_2/64_32_32/32_0_64")).content
    volume = np.frombuffer(back, np.uint8).reshape(32, 32, 64)
    assert np.array_equal(volume[:, :, :32], data[0])
    assert np.array_equal(volume[:, :, 32:], data[1])


@pytest.mark.covers(
    "uint8blk", "POST /raw/{dims}/{size}/{offset}", "GET /extents", "POST /extents", "POST /pyramid"
)
def test_raw_post_compressed_extents_and_pyramid(dvid: Dvid, gray: str) -> None:
    cube = (np.arange(32**3) % 7).astype(np.uint8).reshape(32, 32, 32)
    body = gzip.compress(cube.tobytes())  # voxhub takes gzip'd bodies with ?compression=gzip
    dvid.ok(
        "POST", dvid.at(gray, "raw/0_1_2/32_32_32/0_0_0"), data=body, params={"compression": "gzip"}
    )
    back = dvid.ok("GET", dvid.at(gray, "raw/0_1_2/32_32_32/0_0_0")).content
    assert np.array_equal(np.frombuffer(back, np.uint8).reshape(32, 32, 32), cube)
    dvid.ok(
        "POST", dvid.at(gray, "extents"), json={"MinPoint": [0, 0, 0], "MaxPoint": [99, 99, 99]}
    )
    assert dvid.json(dvid.at(gray, "extents"))["MaxPoint"] == [99, 99, 99]
    dvid.ok("POST", dvid.at(gray, "pyramid"))
    level = dvid.ok("GET", dvid.at(gray, "raw/0_1_2/16_16_16/0_0_0"), params={"scale": "1"})
    assert len(level.content) == 16**3


def test_pyramid_levels_are_dvid_instances_named_name_n(dvid: Dvid) -> None:
    """neuroglancer's dvid:// source finds scales as instances ``em_1``, ``em_2``, …"""
    repos = dvid.json("/api/repos/info")
    assert "em_1" in repos[dvid.repo]["DataInstances"]
    info = dvid.json(dvid.at("em_1", "info"))
    assert info["Base"]["TypeName"] == "uint8blk"
    assert info["Extended"]["MaxPoint"] == [31, 31, 31]
    level = dvid.ok("GET", dvid.at("em_1", "raw/0_1_2/32_32_32/0_0_0")).content
    scaled = dvid.ok("GET", dvid.at("em", "raw/0_1_2/32_32_32/0_0_0"), params={"scale": "1"})
    assert level == scaled.content
    blocks = dvid.ok("GET", dvid.at("em_1", "subvolblocks/32_32_32/0_0_0")).content
    assert list(dvid_wire.parse_stream(blocks)) == [(0, 0, 0)]
    written = dvid.request("POST", dvid.at("em_1", "raw/0_1_2/8_8_8/0_0_0"), data=bytes(512))
    assert written.status_code == 405
    assert "em" in written.json()["error"]


@pytest.mark.covers("uint8blk", "POST /resolution")
@pytest.mark.covers("labelmap", "POST /resolution")
def test_post_resolution(dvid: Dvid, gray: str) -> None:
    """neuclease's post_resolution: ``[x, y, z]``, instance-wide (any node), voxels unchanged."""
    dvid.ok("POST", dvid.at(gray, "raw/0_1_2/32_32_32/0_0_0"), data=bytes(range(256)) * 128)
    dvid.ok("POST", dvid.at(gray, "resolution"), json=[4, 5, 40])
    assert dvid.json(dvid.at(gray, "info"))["Extended"]["VoxelSize"] == [4.0, 5.0, 40.0]
    metadata = dvid.json(dvid.at(gray, "metadata"))
    assert [a["Resolution"] for a in metadata["Axes"]] == [4.0, 5.0, 40.0]
    back = dvid.ok("GET", dvid.at(gray, "raw/0_1_2/32_32_32/0_0_0")).content
    assert back == bytes(range(256)) * 128
    assert dvid.request("POST", dvid.at(gray, "resolution"), json=[4, 0, 40]).status_code == 400
    assert dvid.request("POST", dvid.at(gray, "resolution"), json=[4, 4]).status_code == 400
    dvid.labelmap("resolved")
    dvid.ok("POST", dvid.at("resolved", "resolution", node=dvid.committed), json=[16, 16, 16])
    assert dvid.json(dvid.at("resolved", "info"))["Extended"]["VoxelSize"] == [16.0] * 3
