"""labelmap sparsevols at a coarse scale and in DVID's binary block format,
``sparsevols-coarse``, ``isotropic`` and ``pseudocolor``, with the expected bytes written
from DVID's help text and code (``labels.WriteBinaryBlock``, ``colorImage``)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from . import dvid_wire
from .conftest import SOLID, Dvid

#: MurmurHash3_x86_32 (seed 0) of each label's 8 little-endian bytes (the mmh3 package)
MMH3 = {1: 1392991556, 3: 2738575283, 4: 3491892518, 5: 1740791543}
_HEADER = struct.Struct("<IIIQ")  # gx, gy, gz, label
_BLOCK = struct.Struct("<iiiB")  # first voxel x, y, z, content flag


@pytest.mark.covers("labelmap", "GET /sparsevol/{label}")
def test_sparsevol_at_scale_one(dvid: Dvid) -> None:
    # the 8³ cube of 5 at 56..63 is the 4³ cube 28..31 at scale 1
    reply = dvid.ok("GET", dvid.at("seg", "sparsevol/5"), params={"scale": "1"})
    assert dvid_wire.voxels_of(dvid_wire.rles(reply.content)[1]) == {
        (x, y, z) for z in range(28, 32) for y in range(28, 32) for x in range(28, 32)
    }
    bounded = {"scale": "1", "minx": "30", "maxz": "28"}
    reply = dvid.ok("GET", dvid.at("seg", "sparsevol/5"), params=bounded)
    assert dvid_wire.voxels_of(dvid_wire.rles(reply.content)[1]) == {
        (x, y, 28) for y in range(28, 32) for x in (30, 31)
    }
    # supervoxel 6 is one voxel among seven of body 1 in its 2x2x2 cell: gone at scale 1
    assert dvid.head(dvid.at("seg", "sparsevol/6"), params={"scale": "1"}).status_code == 204
    assert dvid.get(dvid.at("seg", "sparsevol/6"), params={"scale": "1"}).status_code == 404
    assert dvid.head(dvid.at("seg", "sparsevol/6")).status_code == 200
    assert dvid.get(dvid.at("seg", "sparsevol/5"), params={"scale": "2"}).status_code == 400


@pytest.mark.covers("labelmap", "GET /sparsevol/{label}", "GET /sparsevol-by-point/{point}")
def test_sparsevol_blocks_format(dvid: Dvid) -> None:
    blocks = {"format": "blocks"}
    solid = dvid.ok("GET", dvid.at("seg", f"sparsevol/{SOLID}"), params=blocks).content
    assert solid == _HEADER.pack(8, 8, 8, SOLID) + _BLOCK.pack(64, 0, 0, 1)
    # 5 fills the last sub-block (x fastest, then y, then z) of block (0, 0, 0)
    corner = dvid.ok("GET", dvid.at("seg", "sparsevol/5"), params=blocks).content
    assert corner == _HEADER.pack(8, 8, 8, 5) + _BLOCK.pack(0, 0, 0, 2) + bytes(511) + b"\x01"
    # 6 is voxel (1, 0, 0) of the first sub-block: flag 2, then 64 bytes, bit i of voxel i
    one = dvid.ok("GET", dvid.at("seg", "sparsevol-by-point/1_0_0"), params=blocks).content
    mask = b"\x02" + bytes(63)
    assert one == _HEADER.pack(8, 8, 8, 6) + _BLOCK.pack(0, 0, 0, 2) + b"\x02" + mask + bytes(511)


@pytest.mark.covers("labelmap", "GET /sparsevols-coarse/{first}/{last}")
def test_sparsevols_coarse(dvid: Dvid) -> None:
    data = dvid.ok("GET", dvid.at("seg", "sparsevols-coarse/1/5")).content
    got = []
    pos = 0
    while pos < len(data):
        label, spans = struct.unpack_from("<Qi", data, pos)
        pos += 12
        rows = np.frombuffer(data[pos : pos + 16 * spans], "<i4").reshape(-1, 4).tolist()
        pos += 16 * spans
        got.append((label, rows))
    # body 2 was merged into 1 at the root: its index is gone
    assert got == [
        (1, [[0, 0, 0, 1]]),
        (3, [[0, 0, 0, 1]]),
        (SOLID, [[1, 0, 0, 1]]),
        (5, [[0, 0, 0, 1]]),
    ]


@pytest.mark.covers("labelmap", "GET /isotropic/{dims}/{size}/{offset}")
def test_isotropic_of_cubic_voxels_is_raw(dvid: Dvid) -> None:
    raw = dvid.ok("GET", dvid.at("seg", "raw/0_1_2/128_4_4/0_30_60")).content
    assert dvid.ok("GET", dvid.at("seg", "isotropic/0_1_2/128_4_4/0_30_60")).content == raw


@pytest.mark.covers("labelmap", "GET /pseudocolor/{dims}/{size}/{offset}")
def test_pseudocolor_png(dvid: Dvid) -> None:
    reply = dvid.ok("GET", dvid.at("seg", "pseudocolor/xy/128_64/0_0_10"))
    assert reply.headers["Content-Type"] == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(reply.content)).convert("RGBA"))
    assert rgba.shape == (64, 128, 4)
    for (row, col), body in {(5, 5): 1, (5, 40): 1, (40, 40): 3, (10, 100): 4}.items():
        h = MMH3[body]  # DVID: the hash's big-endian bytes as R, G, B; alpha 255
        assert rgba[row, col].tolist() == [h >> 24, (h >> 16) & 255, (h >> 8) & 255, 255]
