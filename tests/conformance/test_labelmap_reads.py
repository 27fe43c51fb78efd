"""labelmap reads as neuclease and neuroglancer send them, checked against DVID's layouts."""

from __future__ import annotations

import gzip

import lz4.block
import numpy as np
import pytest

from . import dvid_wire
from .conftest import BODIES, DVID_BASE_KEYS, DVID_EXTENDED_KEYS, SEG, SOLID, Dvid

#: the whole volume (z, y, x): block (0,0,0) is SEG, block (1,0,0) is solid SOLID
SUPERVOXELS = np.concatenate([SEG, np.full_like(SEG, SOLID)], axis=2)
MAPPED = np.vectorize(lambda v: BODIES.get(int(v), int(v)), otypes=[np.uint64])(SUPERVOXELS)


def voxels(reply_content: bytes, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(reply_content, "<u8").reshape(shape)


@pytest.mark.covers("labelmap", "GET /info")
def test_info_has_the_fields_clients_parse(dvid: Dvid) -> None:
    info = dvid.json(dvid.at("seg", "info"))
    base, extended = info["Base"], info["Extended"]
    assert set(base) >= DVID_BASE_KEYS
    labelmap_keys = {"MaxLabel", "MaxRepoLabel", "NextLabel", "IndexedLabels", "MaxDownresLevel"}
    assert set(extended) >= DVID_EXTENDED_KEYS | labelmap_keys
    assert set(info["Extents"]) == {"MinPoint", "MaxPoint"}
    assert base["TypeName"] == "labelmap"
    assert base["Name"] == "seg"
    assert base["Versioned"] is True
    assert extended["BlockSize"] == [64, 64, 64]
    assert extended["VoxelSize"] == [8.0, 8.0, 8.0]
    assert extended["VoxelUnits"] == ["nanometers"] * 3
    assert extended["MaxDownresLevel"] == 1
    assert extended["IndexedLabels"] is True
    assert extended["MaxLabel"] == 6
    assert extended["MinPoint"] == [0, 0, 0]
    assert extended["MaxPoint"] == [127, 63, 63]
    assert extended["Values"] == [{"DataType": "uint64", "Label": "seg"}]


@pytest.mark.covers("labelmap", "GET /extents")
def test_extents(dvid: Dvid) -> None:
    extents = dvid.json(dvid.at("seg", "extents"))
    assert extents == {"MinPoint": [0, 0, 0], "MaxPoint": [127, 63, 63]}


@pytest.mark.covers("labelmap", "GET /raw/{dims}/{size}/{offset}")
def test_raw_is_zyx_little_endian_uint64(dvid: Dvid) -> None:
    url = dvid.at("seg", "raw/0_1_2/128_64_64/0_0_0")
    assert np.array_equal(voxels(dvid.ok("GET", url).content, (64, 64, 128)), MAPPED)
    sv = dvid.ok("GET", url, params={"supervoxels": "true"}).content
    assert np.array_equal(voxels(sv, (64, 64, 128)), SUPERVOXELS)
    # an unaligned box, as neuclease's fetch_labelmap_voxels sends it for small cutouts
    part = dvid.ok("GET", dvid.at("seg", "raw/0_1_2/10_3_2/60_30_1")).content
    assert np.array_equal(voxels(part, (2, 3, 10)), MAPPED[1:3, 30:33, 60:70])


@pytest.mark.covers("labelmap", "GET /raw/{dims}/{size}/{offset}")
def test_raw_compressions(dvid: Dvid) -> None:
    url = dvid.at("seg", "raw/0_1_2/64_64_64/0_0_0")
    expected = MAPPED[:, :, :64]
    gz = dvid.ok("GET", url, params={"compression": "gzip"}).content
    assert np.array_equal(voxels(gzip.decompress(gz), expected.shape), expected)
    lz = dvid.ok("GET", url, params={"compression": "lz4"}).content
    plain = lz4.block.decompress(lz, uncompressed_size=expected.nbytes)
    assert np.array_equal(voxels(plain, expected.shape), expected)


@pytest.mark.covers("labelmap", "GET /raw/{dims}/{size}/{offset}")
def test_raw_at_scale_one(dvid: Dvid) -> None:
    """Scale 1 halves each axis; each voxel is one of the labels of its 2×2×2 cell."""
    got = voxels(
        dvid.ok("GET", dvid.at("seg", "raw/0_1_2/64_32_32/0_0_0"), params={"scale": "1"}).content,
        (32, 32, 64),
    )
    assert got[0, 0, 0] == 1
    assert got[0, 0, 40] == SOLID
    assert got[31, 31, 31] == 5
    assert got[0, 31, 20] == 3


@pytest.mark.covers("labelmap", "GET /label/{point}", "GET /labels")
def test_label_and_labels_with_a_json_get_body(dvid: Dvid) -> None:
    assert dvid.json(dvid.at("seg", "label/40_0_0")) == {"Label": 1}
    assert dvid.json(dvid.at("seg", "label/40_0_0"), params={"supervoxels": "true"}) == {"Label": 2}
    assert dvid.json(dvid.at("seg", "label/100_10_10")) == {"Label": SOLID}
    assert dvid.json(dvid.at("seg", "label/40_0_0"), params={"scale": "1"}) == {"Label": SOLID}
    points = [[0, 0, 0], [40, 0, 0], [40, 40, 0], [100, 0, 0], [1, 0, 0], [63, 63, 63]]
    assert dvid.json(dvid.at("seg", "labels"), json=points) == [1, 1, 3, SOLID, 6, 5]
    svs = dvid.json(dvid.at("seg", "labels"), json=points, params={"supervoxels": "true"})
    assert svs == [1, 2, 3, SOLID, 6, 5]


@pytest.mark.covers("labelmap", "GET /mapping")
def test_mapping_with_a_json_get_body(dvid: Dvid) -> None:
    assert dvid.json(dvid.at("seg", "mapping"), json=[1, 2, 3, SOLID, 987654]) == [1, 1, 3, 4, 0]
    nolookup = dvid.json(dvid.at("seg", "mapping"), json=[2, 3], params={"nolookup": "true"})
    assert nolookup == [1, 3]


@pytest.mark.covers("labelmap", "GET /mappings")
def test_mappings_text_and_binary(dvid: Dvid) -> None:
    assert dvid.ok("GET", dvid.at("seg", "mappings")).text == "2 1\n"
    params = {"format": "binary", "consistent": "true"}  # neuclease fetch_mappings
    binary = dvid.ok("GET", dvid.at("seg", "mappings"), params=params).content
    assert np.frombuffer(binary, "<u8").tolist() == [2, 1]


@pytest.mark.covers("labelmap", "GET /blocks/{size}/{offset}")
def test_block_stream_of_native_blocks(dvid: Dvid) -> None:
    """``GET blocks?compression=blocks``: gzip'd native blocks, mapped unless supervoxels."""
    url = dvid.at("seg", "blocks/128_64_64/0_0_0")
    stream = dvid_wire.parse_stream(dvid.ok("GET", url, params={"compression": "blocks"}).content)
    assert sorted(stream) == [(0, 0, 0), (1, 0, 0)]
    assert np.array_equal(dvid_wire.gunzip_block(stream[(0, 0, 0)]), MAPPED[:, :, :64])
    assert gzip.decompress(stream[(1, 0, 0)]) == dvid_wire.solid_block(SOLID)
    params = {"compression": "blocks", "supervoxels": "true"}
    sv = dvid_wire.parse_stream(dvid.ok("GET", url, params=params).content)
    assert np.array_equal(dvid_wire.gunzip_block(sv[(0, 0, 0)]), SEG)


@pytest.mark.covers("labelmap", "GET /blocks/{size}/{offset}")
def test_block_stream_default_is_lz4_and_unset_blocks_are_left_out(dvid: Dvid) -> None:
    url = dvid.at("seg", "blocks/192_64_64/0_0_0")  # the third block is unset
    stream = dvid_wire.parse_stream(dvid.ok("GET", url).content)
    assert sorted(stream) == [(0, 0, 0), (1, 0, 0)]
    plain = lz4.block.decompress(stream[(1, 0, 0)], uncompressed_size=8 * 64**3)
    assert np.array_equal(voxels(plain, (64, 64, 64)), np.full((64, 64, 64), SOLID))
    raw = dvid.ok("GET", url, params={"compression": "uncompressed"}).content
    assert np.array_equal(
        voxels(dvid_wire.parse_stream(raw)[(0, 0, 0)], (64, 64, 64)), MAPPED[:, :, :64]
    )


@pytest.mark.covers("labelmap", "GET /specificblocks")
def test_specificblocks_default_is_native(dvid: Dvid) -> None:
    params = {"blocks": "1,0,0,0,0,0,5,5,5", "supervoxels": "true"}
    stream = dvid_wire.parse_stream(
        dvid.ok("GET", dvid.at("seg", "specificblocks"), params=params).content
    )
    assert sorted(stream) == [(0, 0, 0), (1, 0, 0)]
    assert np.array_equal(dvid_wire.gunzip_block(stream[(0, 0, 0)]), SEG)
    scaled = {"blocks": "0,0,0", "scale": "1", "compression": "gzip"}
    one = dvid_wire.parse_stream(
        dvid.ok("GET", dvid.at("seg", "specificblocks"), params=scaled).content
    )
    assert voxels(gzip.decompress(one[(0, 0, 0)]), (64, 64, 64))[0, 0, 40] == SOLID


@pytest.mark.covers(
    "labelmap",
    "GET /size/{label}",
    "GET /sizes",
    "GET /supervoxels/{label}",
    "GET /supervoxel-sizes/{label}",
)
def test_sizes_and_supervoxels(dvid: Dvid) -> None:
    n1, n2 = int((SEG == 1).sum()), int((SEG == 2).sum())
    assert dvid.json(dvid.at("seg", "size/1")) == {"voxels": n1 + n2}
    assert dvid.json(dvid.at("seg", "size/2"), params={"supervoxels": "true"}) == {"voxels": n2}
    assert dvid.json(dvid.at("seg", "sizes"), json=[1, SOLID, 424242]) == [n1 + n2, 64**3, 0]
    assert dvid.json(dvid.at("seg", "sizes"), json=[2], params={"supervoxels": "true"}) == [n2]
    assert dvid.json(dvid.at("seg", "supervoxels/1")) == [1, 2]
    sizes = dvid.json(dvid.at("seg", "supervoxel-sizes/1"))
    assert set(sizes) == {"supervoxels", "sizes"}
    assert dict(zip(sizes["supervoxels"], sizes["sizes"], strict=True)) == {1: n1, 2: n2}


@pytest.mark.covers("labelmap", "GET /sparsevol/{label}")
def test_sparsevol_rles_and_bounds(dvid: Dvid) -> None:
    header_voxels, rows = dvid_wire.rles(dvid.ok("GET", dvid.at("seg", "sparsevol/5")).content)
    assert header_voxels == 0  # DVID: "# Voxels [TODO. 0 for now]"
    assert dvid_wire.voxels_of(rows) == {
        (x, y, z) for z in range(56, 64) for y in range(56, 64) for x in range(56, 64)
    }
    bounded = {"minz": "60", "maxz": "61", "minx": "58"}
    _, rows = dvid_wire.rles(dvid.ok("GET", dvid.at("seg", "sparsevol/5"), params=bounded).content)
    assert dvid_wire.voxels_of(rows) == {
        (x, y, z) for z in (60, 61) for y in range(56, 64) for x in range(58, 64)
    }
    plain = dvid.ok("GET", dvid.at("seg", "sparsevol/5")).content
    gz = dvid.ok("GET", dvid.at("seg", "sparsevol/5"), params={"compression": "gzip"}).content
    assert gzip.decompress(gz) == plain  # the whole body compressed, as DVID does
    srles = dvid.ok("GET", dvid.at("seg", "sparsevol/5"), params={"format": "srles"}).content
    assert np.frombuffer(srles, "<i4").reshape(-1, 4).tolist() == rows_of(dvid, 5)
    assert dvid.head(dvid.at("seg", "sparsevol/5")).status_code == 200
    assert (
        dvid.head(dvid.at("seg", "sparsevol/2"), params={"supervoxels": "true"}).status_code == 200
    )
    assert dvid.head(dvid.at("seg", "sparsevol/424242")).status_code == 204


def rows_of(dvid: Dvid, label: int) -> list[list[int]]:
    return dvid_wire.rles(dvid.ok("GET", dvid.at("seg", f"sparsevol/{label}")).content)[1].tolist()


@pytest.mark.covers(
    "labelmap",
    "GET /sparsevol-size/{label}",
    "GET /sparsevol-coarse/{label}",
    "GET /sparsevol-by-point/{point}",
)
def test_sparsevol_size_coarse_and_by_point(dvid: Dvid) -> None:
    size = dvid.json(dvid.at("seg", "sparsevol-size/1"))
    assert size == {
        "voxels": int(np.isin(SEG, [1, 2]).sum()),
        "numblocks": 1,
        "minvoxel": [0, 0, 0],
        "maxvoxel": [63, 63, 63],
    }
    coarse = dvid.ok("GET", dvid.at("seg", f"sparsevol-coarse/{SOLID}")).content
    assert dvid_wire.rles(coarse)[1].tolist() == [[1, 0, 0, 1]]
    by_point = dvid.ok("GET", dvid.at("seg", "sparsevol-by-point/60_60_60")).content
    assert by_point == dvid.ok("GET", dvid.at("seg", "sparsevol/5")).content


@pytest.mark.covers("labelmap", "GET /maxlabel", "GET /nextlabel", "GET /listlabels")
def test_maxlabel_nextlabel_listlabels(dvid: Dvid) -> None:
    assert dvid.ok("GET", dvid.at("seg", "maxlabel")).json() == {"maxlabel": 6}
    assert dvid.ok("GET", dvid.at("seg", "nextlabel")).json() == {"nextlabel": 7}
    listed = dvid.ok("GET", dvid.at("seg", "listlabels")).content
    assert np.frombuffer(listed, "<u8").tolist() == [1, 3, 4, 5, 6]
    page = dvid.ok("GET", dvid.at("seg", "listlabels"), params={"start": "3", "number": "2"})
    assert np.frombuffer(page.content, "<u8").tolist() == [3, 4]
    with_sizes = dvid.ok(
        "GET", dvid.at("seg", "listlabels"), params={"number": "1", "sizes": "true"}
    )
    assert np.frombuffer(with_sizes.content, "<u8").tolist() == [1, int(np.isin(SEG, [1, 2]).sum())]


@pytest.mark.covers("labelmap", "GET /lastmod/{label}", "GET /index/{label}")
def test_lastmod_and_index(dvid: Dvid) -> None:
    lastmod = dvid.json(dvid.at("seg", "lastmod/1"))
    assert set(lastmod) == {"mutation id", "last mod user", "last mod app", "last mod time"}
    assert lastmod["last mod user"] == "ann"
    assert lastmod["last mod app"] == "neu3-conformance"
    index = dvid.json(dvid.at("seg", "index/1"), params={"format": "json"})
    assert index["label"] == 1


def test_reads_at_the_committed_node(dvid: Dvid) -> None:
    committed = dvid.at("seg", "label/40_0_0", node=dvid.committed)
    assert dvid.json(committed) == {"Label": 1}
