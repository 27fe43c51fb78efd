"""raw / isotropic cutouts, POST raw, info, metadata and extents."""

from __future__ import annotations

import gzip
import io
import json

import lz4.block
import lz4.frame
import numpy as np
import pytest
import tifffile
import zstandard
from PIL import Image

from server_image.conftest import LIMIT, Env


def _array(content: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(content, dtype=dtype).reshape(shape)


def test_raw_3d_is_zyx_x_fastest(env: Env) -> None:
    r = env.client.get(env.url("gray", "raw/0_1_2/5_4_3/2_1_6"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert np.array_equal(_array(r.content, "uint8", (3, 4, 5)), env.gray[6:9, 1:5, 2:7])


@pytest.mark.parametrize("dims", ["0,1,2", "vol", "0_1_2"])
def test_raw_3d_dims_spellings(env: Env, dims: str) -> None:
    r = env.client.get(env.url("gray", f"raw/{dims}/2_2_2/0_0_0/octet-stream"))
    assert r.status_code == 200
    assert np.array_equal(_array(r.content, "uint8", (2, 2, 2)), env.gray[:2, :2, :2])


def test_raw_unwritten_is_background_and_negative_offsets_work(env: Env) -> None:
    r = env.client.get(env.url("gray", "raw/0_1_2/4_4_4/-2_-2_-2"))
    got = _array(r.content, "uint8", (4, 4, 4))
    assert not got[:2].any()
    assert np.array_equal(got[2:, 2:, 2:], env.gray[:2, :2, :2])


def test_raw_uint16_little_endian(env: Env) -> None:
    env.node.volume("deep").write((0, 0, 0), np.full((1, 1, 2), 0x0102, dtype=np.uint16))
    r = env.client.get(env.url("deep", "raw/0_1_2/2_1_1/0_0_0"))
    assert r.content == b"\x02\x01\x02\x01"


def test_raw_scale_reads_pyramid(env: Env) -> None:
    r = env.client.get(env.url("gray", "raw/0_1_2/16_12_8/0_0_0?scale=1"))
    assert r.status_code == 200
    expected = env.node.volume("gray").at_scale(1)[0:8, 0:12, 0:16]
    assert np.array_equal(_array(r.content, "uint8", (8, 12, 16)), expected)
    assert env.client.get(env.url("gray", "raw/0_1_2/1_1_1/0_0_0?scale=2")).status_code == 400
    assert env.client.get(env.url("gray", "raw/0_1_2/1_1_1/0_0_0?scale=x")).status_code == 400


@pytest.mark.parametrize(
    ("dims", "size", "expected"),
    [
        ("xy", "5_4", lambda g: g[6, 1:5, 2:7]),
        ("xz", "5_4", lambda g: g[6:10, 1, 2:7]),
        ("yz", "5_4", lambda g: g[6:10, 1:6, 2]),
        ("0_2", "5_4", lambda g: g[6:10, 1, 2:7]),
    ],
)
def test_raw_2d_png_layout(env: Env, dims: str, size: str, expected) -> None:  # type: ignore[no-untyped-def]
    r = env.client.get(env.url("gray", f"raw/{dims}/{size}/2_1_6"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(r.content))), expected(env.gray))


def test_raw_2d_tiff_jpeg_and_quality(env: Env) -> None:
    r = env.client.get(env.url("gray", "raw/xy/32_24/0_0_3/tiff"))
    assert np.array_equal(tifffile.imread(io.BytesIO(r.content)), env.gray[3])
    lo = env.client.get(env.url("gray", "raw/xy/32_24/0_0_3/jpg:5"))
    hi = env.client.get(env.url("gray", "raw/xy/32_24/0_0_3/jpg:95"))
    assert lo.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(hi.content)).size == (32, 24)
    assert len(lo.content) < len(hi.content)


def test_raw_3d_jpeg_is_one_tall_image(env: Env) -> None:
    # neuroglancer's request for uint8 volumes without jpeg storage
    r = env.client.get(env.url("gray", "raw/0_1_2/8_8_8/0_0_0/jpeg?app=Neuroglancer"))
    image = Image.open(io.BytesIO(r.content))
    assert (image.mode, image.size) == ("L", (8, 64))
    decoded = np.asarray(image).astype(int).reshape(8, 8, 8)
    assert np.abs(decoded - env.gray[:8, :8, :8]).mean() < 20


def test_raw_3d_tiff_is_multipage(env: Env) -> None:
    r = env.client.get(env.url("gray", "raw/0_1_2/4_3_2/0_0_0/tiff"))
    assert np.array_equal(tifffile.imread(io.BytesIO(r.content)), env.gray[:2, :3, :4])


def test_png_of_uint16_keeps_16_bits_and_refuses_jpeg(env: Env) -> None:
    env.node.volume("deep").write((0, 0, 0), np.full((1, 2, 2), 1000, dtype=np.uint16))
    r = env.client.get(env.url("deep", "raw/xy/2_2/0_0_0/png"))
    assert np.asarray(Image.open(io.BytesIO(r.content))).tolist() == [[1000, 1000]] * 2
    bad = env.client.get(env.url("deep", "raw/xy/2_2/0_0_0/jpg"))
    assert bad.status_code == 400
    assert "tiff" in bad.json()["error"]


@pytest.mark.parametrize(
    ("rest", "field"),
    [
        ("raw/0_1_2/4_4/0_0_0", "size"),
        ("raw/0_1_2/4_a_4/0_0_0", "size"),
        ("raw/0_1_2/4_0_4/0_0_0", "size"),
        ("raw/0_1_2/4_4_4/0_0", "offset"),
        ("raw/xy/4_4_4/0_0_0", "size"),
        ("raw/xw/4_4/0_0_0", "dims"),
        ("raw/xy/4_4/0_0_0/gif", "format"),
        ("raw/xy/4_4/0_0_0/jpg:0", "quality"),
        ("raw/0_1_2/4_4_4/0_0_0/gif", "format"),
        ("raw/0_1_2/4_4_4/0_0_0?compression=brotli", "compression"),
        ("raw/0_1_2/4_4_4/0_0_0/jpg?compression=gzip", "compression"),
    ],
)
def test_raw_bad_requests_name_the_field(env: Env, rest: str, field: str) -> None:
    r = env.client.get(env.url("gray", rest))
    assert r.status_code == 400
    assert field in r.json()["error"]


def test_raw_over_limit_is_413_with_limit(env: Env) -> None:
    r = env.client.get(env.url("gray", "raw/0_1_2/1024_1024_2/0_0_0"))
    assert r.status_code == 413
    assert str(LIMIT) in r.json()["error"]


def test_unknown_instance_is_404(env: Env) -> None:
    assert env.client.get(env.url("nope", "info")).status_code == 404


@pytest.mark.parametrize("compression", ["gzip", "zstd", "lz4"])
def test_raw_get_compressed(env: Env, compression: str) -> None:
    r = env.client.get(env.url("gray", f"raw/0_1_2/4_4_4/0_0_0?compression={compression}"))
    raw = {
        "gzip": gzip.decompress,
        "zstd": lambda b: zstandard.ZstdDecompressor().decompress(b, max_output_size=64),
        "lz4": lambda b: lz4.block.decompress(b, uncompressed_size=64),
    }[compression](r.content)
    assert np.array_equal(_array(raw, "uint8", (4, 4, 4)), env.gray[:4, :4, :4])


# -- POST raw ---------------------------------------------------------------------------
def _post_and_read(env: Env, rest: str, body: bytes, size: str, offset: str) -> np.ndarray:
    r = env.client.post(env.url("gray", rest), content=body)
    assert r.status_code == 200, r.text
    back = env.client.get(env.url("gray", f"raw/0_1_2/{size}/{offset}"))
    return back.content


def test_post_raw_unaligned(env: Env) -> None:
    data = np.arange(3 * 5 * 7, dtype=np.uint8).reshape(3, 5, 7)
    got = _post_and_read(env, "raw/0_1_2/7_5_3/3_2_1", data.tobytes(), "7_5_3", "3_2_1")
    assert got == data.tobytes()
    assert np.array_equal(env.node.volume("gray")[1:4, 2:7, 3:10], data)


@pytest.mark.parametrize(
    "pack",
    [
        gzip.compress,
        lambda b: zstandard.ZstdCompressor().compress(b),
        lambda b: lz4.block.compress(b, store_size=False),
        lambda b: lz4.block.compress(b, store_size=True),
        lz4.frame.compress,
    ],
)
def test_post_raw_compressed(env: Env, pack) -> None:  # type: ignore[no-untyped-def]
    data = np.full((8, 8, 8), 7, dtype=np.uint8)
    name = {gzip.compress: "gzip", lz4.frame.compress: "lz4"}.get(pack)
    if name is None:
        name = "zstd" if pack(b"x")[:4] == b"\x28\xb5\x2f\xfd" else "lz4"
    r = env.client.post(
        env.url("gray", f"raw/0_1_2/8_8_8/0_0_0?compression={name}"), content=pack(data.tobytes())
    )
    assert r.status_code == 200, r.text
    assert np.array_equal(env.node.volume("gray")[:8, :8, :8], data)


def test_post_raw_wrong_length_names_expected_and_writes_nothing(env: Env) -> None:
    r = env.client.post(env.url("gray", "raw/0_1_2/4_4_4/0_0_0"), content=b"\x01" * 63)
    assert r.status_code == 400
    assert "64" in r.json()["error"]
    r = env.client.post(
        env.url("gray", "raw/0_1_2/4_4_4/0_0_0?compression=gzip"), content=gzip.compress(b"1" * 65)
    )
    assert r.status_code == 400
    assert "64" in r.json()["error"]
    assert np.array_equal(env.node.volume("gray")[:4, :4, :4], env.gray[:4, :4, :4])


@pytest.mark.parametrize(
    ("rest", "body", "status"),
    [
        ("raw/xy/4_4/0_0_0", b"0" * 16, 400),
        ("raw/0_1_2/4_4_4/0_0_0?compression=gzip", b"junk", 400),
        ("raw/0_1_2/4_4_4/0_0_0?compression=rar", b"0" * 64, 400),
        ("raw/0_1_2/4_4_4/0_0_0?scale=1", b"0" * 64, 400),
        ("isotropic/0_1_2/4_4_4/0_0_0", b"0" * 64, 405),
    ],
)
def test_post_raw_errors(env: Env, rest: str, body: bytes, status: int) -> None:
    assert env.client.post(env.url("gray", rest), content=body).status_code == status


def test_post_raw_oversize_is_413_before_reading(env: Env) -> None:
    r = env.client.post(env.url("gray", "raw/0_1_2/1024_1024_2/0_0_0"), content=b"")
    assert r.status_code == 413
    assert str(LIMIT) in r.json()["error"]


def test_post_raw_compressed_body_over_limit_is_413(env: Env) -> None:
    body = b"\0" * (LIMIT + 1)
    r = env.client.post(env.url("gray", "raw/0_1_2/8_8_8/0_0_0?compression=gzip"), content=body)
    assert r.status_code == 413


def test_post_to_committed_node_is_409(env: Env) -> None:
    env.node.commit()
    r = env.client.post(env.url("gray", "raw/0_1_2/4_4_4/0_0_0"), content=b"\x01" * 64)
    assert r.status_code == 409
    r = env.client.post(env.url("gray", "blocks/0_0_0/1"), content=b"\x01" * 512)
    assert r.status_code == 409
    box = {"MinPoint": [0, 0, 0], "MaxPoint": [1, 1, 1]}
    r = env.client.post(env.url("gray", "extents"), json=box)
    assert r.status_code == 409


# -- isotropic ------------------------------------------------------------------------------
def test_isotropic_repeats_coarse_z(env: Env) -> None:
    aniso = env.node.volume("aniso")
    data = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) + 1
    aniso.write((0, 0, 0), data)
    r = env.client.get(env.url("aniso", "isotropic/0_1_2/3_3_8/0_0_0"))
    got = _array(r.content, "uint8", (8, 3, 3))
    assert np.array_equal(got, np.repeat(data, 4, axis=0))
    xz = env.client.get(env.url("aniso", "isotropic/xz/3_8/0_1_0/png"))
    image = np.asarray(Image.open(io.BytesIO(xz.content)))
    assert np.array_equal(image, np.repeat(data[:, 1, :], 4, axis=0))


def test_isotropic_equals_raw_for_isotropic_volumes(env: Env) -> None:
    a = env.client.get(env.url("gray", "isotropic/0_1_2/5_4_3/2_1_6")).content
    assert a == env.client.get(env.url("gray", "raw/0_1_2/5_4_3/2_1_6")).content


# -- info, metadata, extents ------------------------------------------------------------------
def test_info_json(env: Env) -> None:
    info = env.client.get(env.url("gray", "info")).json()
    base, ext = info["Base"], info["Extended"]
    assert base["TypeName"] == "uint8blk"
    assert base["Compression"] == "zstd:1"
    assert base["Checksum"] == "NoChecksum"
    assert base["Syncs"] == []
    assert base["RepoUUID"] == env.node.repo.root
    assert ext["Values"][0]["DataType"] == "uint8"
    assert ext["BlockSize"] == [8, 8, 8]
    assert ext["MinPoint"] == [0, 0, 0]
    assert ext["MaxPoint"] == [31, 23, 15]
    assert ext["MaxIndex"] == [3, 2, 1]
    assert ext["MaxDownresLevel"] == 1
    assert info["Extents"] == {"MinPoint": [0, 0, 0], "MaxPoint": [31, 23, 15]}
    jpg = env.client.get(env.url("jpg", "info")).json()
    assert "jpeg" in jpg["Base"]["Compression"]
    assert jpg["Extents"]["MinPoint"] == [0, 0, 0]  # empty: never null


def test_metadata_axes(env: Env) -> None:
    r = env.client.get(env.url("aniso", "metadata"))
    assert r.headers["content-type"].startswith("application/vnd.dvid-nd-data+json")
    axes = json.loads(r.content)["Axes"]
    assert [a["Label"] for a in axes] == ["X", "Y", "Z"]
    assert [a["Resolution"] for a in axes] == [1.0, 1.0, 4.0]


def test_post_extents_grows_never_shrinks(env: Env) -> None:
    body = {"MinPoint": ["-8", "0", "0"], "MaxPoint": [7, 7, 7]}
    assert env.client.post(env.url("gray", "extents"), json=body).status_code == 200
    ext = env.client.get(env.url("gray", "info")).json()["Extents"]
    assert ext == {"MinPoint": [-8, 0, 0], "MaxPoint": [31, 23, 15]}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1,2]",
        b'{"MinPoint":[0,0],"MaxPoint":[1,1,1]}',
        b'{"MinPoint":[5,5,5],"MaxPoint":[1,1,1]}',
        b'{"MinPoint":["a",0,0],"MaxPoint":[1,1,1]}',
    ],
)
def test_post_extents_bad_bodies(env: Env, body: bytes) -> None:
    r = env.client.post(env.url("gray", "extents"), content=body)
    assert r.status_code == 400
    assert "extents" in r.json()["error"]


@pytest.mark.parametrize("length", [63, 65])
def test_post_raw_streamed_body_of_wrong_length(env: Env, length: int) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"\x01" * (length - 1)
        yield b"\x01"

    r = env.client.post(env.url("gray", "raw/0_1_2/4_4_4/0_0_0"), content=chunks())
    assert r.status_code == 400
    assert "64" in r.json()["error"]
    assert np.array_equal(env.node.volume("gray")[:4, :4, :4], env.gray[:4, :4, :4])
