"""ndstore cutout URLs: tokens, formats, slices, bounds, POST of npz bodies."""

from __future__ import annotations

import io
import zlib

import h5py
import numpy as np
import pytest
import tifffile
from PIL import Image

from server_image.conftest import LIMIT, Env


def _npz(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return zlib.compress(buf.getvalue())


def _load_npz(content: bytes) -> np.ndarray:
    return np.load(io.BytesIO(zlib.decompress(content)))


def test_npz_cutout_is_channel_z_y_x(env: Env) -> None:
    r = env.client.get("/ca/demo/gray/npz/0/2,7/1,5/6,9/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "product/npz"
    got = _load_npz(r.content)
    assert got.shape == (1, 3, 4, 5)
    assert np.array_equal(got[0], env.gray[6:9, 1:5, 2:7])


@pytest.mark.parametrize("prefix", ["/ca", "/sd", "/nd/ca", "/nd/sd"])
def test_prefixes_and_trailing_slash(env: Env, prefix: str) -> None:
    for tail in ("/", ""):
        r = env.client.get(f"{prefix}/demo:master/gray/raw/0/0,4/0,4/0,4{tail}")
        assert r.status_code == 200
        assert r.content == env.gray[:4, :4, :4].tobytes()


def test_hdf5_and_tiff_and_raw(env: Env) -> None:
    r = env.client.get("/ca/demo/gray/hdf5/0/0,32/0,24/0,16/")
    assert r.headers["content-type"] == "product/hdf5"
    with h5py.File(io.BytesIO(r.content), "r") as f:
        assert np.array_equal(f["gray/CUTOUT"][()], env.gray)
        assert f["gray/DATATYPE"][()] == b"uint8"
    r = env.client.get("/ca/demo/gray/tiff/0/0,32/0,24/0,4/")
    assert np.array_equal(tifffile.imread(io.BytesIO(r.content)), env.gray[:4])
    r = env.client.get("/ca/demo/gray/raw/0/0,32/0,24/0,4/")
    assert r.headers["content-type"] == "product/raw"
    assert r.content == env.gray[:4].tobytes()


def test_resolution_reads_pyramid(env: Env) -> None:
    r = env.client.get("/ca/demo/gray/npz/1/0,16/0,12/0,8/")
    expected = env.node.volume("gray").at_scale(1)[0:8, 0:12, 0:16]
    assert np.array_equal(_load_npz(r.content)[0], expected)
    r = env.client.get("/ca/demo/gray/npz/1/0,17/0,12/0,8/")
    assert r.status_code == 400
    assert "x [0,16) y [0,12) z [0,8)" in r.json()["error"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/ca/demo/gray/xy/0/2,7/1,5/6/", lambda g: g[6, 1:5, 2:7]),
        ("/ca/demo/gray/xz/0/2,7/1/6,9/", lambda g: g[6:9, 1, 2:7]),
        ("/ca/demo/gray/yz/0/2/1,5/6,9/", lambda g: g[6:9, 1:5, 2]),
    ],
)
def test_slices_are_png(env: Env, url: str, expected) -> None:  # type: ignore[no-untyped-def]
    r = env.client.get(url)
    assert r.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(r.content))), expected(env.gray))


def test_token_names_repo_and_branch(env: Env) -> None:
    root = env.node.repo.root
    env.node.commit()
    branch = env.node.branch("proofread")
    branch.volume("gray").write((0, 0, 0), np.full((1, 1, 1), 0, np.uint8))
    master = env.client.get("/ca/demo/gray/raw/0/0,1/0,1/0,1/").content
    proof = env.client.get("/ca/demo:proofread/gray/raw/0/0,1/0,1/0,1/").content
    by_root = env.client.get(f"/ca/{root[:8]}:proofread/gray/raw/0/0,1/0,1/0,1/").content
    assert master == env.gray[:1, :1, :1].tobytes()
    assert proof == by_root == b"\0"


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/ca/nope/gray/npz/0/0,4/0,4/0,4/", 404, "nope"),
        ("/ca/demo:nobranch/gray/npz/0/0,4/0,4/0,4/", 404, "nobranch"),
        ("/ca/demo/nochan/npz/0/0,4/0,4/0,4/", 404, "nochan"),
        ("/ca/demo/gray/gif/0/0,4/0,4/0,4/", 400, "format"),
        ("/ca/demo/gray/npz/5/0,4/0,4/0,4/", 400, "resolution"),
        ("/ca/demo/gray/npz/x/0,4/0,4/0,4/", 400, "resolution"),
        ("/ca/demo/gray/npz/0/4,4/0,4/0,4/", 400, "x range"),
        ("/ca/demo/gray/npz/0/0,4/0,a/0,4/", 400, "y range"),
        ("/ca/demo/gray/npz/0/0,4/0,4/0,17/", 400, "x [0,32) y [0,24) z [0,16)"),
        ("/ca/demo/gray/npz/0/-1,4/0,4/0,4/", 400, "bounds"),
        ("/ca/demo/jpg/npz/0/0,4/0,4/0,4/", 400, "bounds"),  # empty channel
        ("/ca/demo/gray/xy/0/0,4/0,4/1,2/", 400, "z coordinate"),
        ("/ca/demo/gray/blosc/0/0,4/0,4/0,4/", 501, "blosc"),
    ],
)
def test_cutout_errors(env: Env, url: str, status: int, words: str) -> None:
    r = env.client.get(url)
    assert r.status_code == status
    assert words in r.json()["error"]


def test_cutout_over_limit_is_413(env: Env) -> None:
    data = np.ones((4, 512, 1024), np.uint8)
    env.node.volume("gray").write((0, 0, 0), data)
    r = env.client.get("/ca/demo/gray/raw/0/0,1024/0,512/0,4/")
    assert r.status_code == 413
    assert str(LIMIT) in r.json()["error"]


def test_png_slice_of_uint64_is_refused(env: Env) -> None:
    node = env.node
    node.create_volume("big", "uint64", block_shape=(8, 8, 8)).write(
        (0, 0, 0), np.ones((2, 2, 2), np.uint64)
    )
    r = env.client.get("/ca/demo/big/xy/0/0,2/0,2/0/")
    assert r.status_code == 400
    assert "tiff" in r.json()["error"]


# -- POST ---------------------------------------------------------------------------------
def test_post_npz_writes_zeros_too(env: Env) -> None:
    data = np.zeros((1, 3, 4, 5), np.uint8)
    data[0, 1, 2, 3] = 9
    r = env.client.post("/ca/demo/gray/npz/0/2,7/1,5/6,9/", content=_npz(data))
    assert r.status_code == 200, r.text
    assert np.array_equal(env.node.volume("gray")[6:9, 1:5, 2:7], data[0])


def test_post_npz_may_grow_the_volume(env: Env) -> None:
    data = np.full((1, 2, 2, 2), 5, np.uint8)
    r = env.client.post("/ca/demo/gray/npz/0/40,42/0,2/0,2/", content=_npz(data))
    assert r.status_code == 200
    assert env.node.volume("gray").extents().stop[2] == 42


@pytest.mark.parametrize(
    ("url", "body", "status", "words"),
    [
        (
            "/ca/demo/gray/npz/0/0,2/0,2/0,2/",
            _npz(np.ones((1, 2, 2, 3), np.uint8)),
            400,
            "mismatched",
        ),
        (
            "/ca/demo/gray/npz/0/0,2/0,2/0,2/",
            _npz(np.ones((1, 2, 2, 2), np.uint16)),
            400,
            "Wrong datatype",
        ),
        ("/ca/demo/gray/npz/0/0,2/0,2/0,2/", b"not zlib", 400, "npz"),
        ("/ca/demo/gray/npz/0/0,2/0,2/0,2/", zlib.compress(b"\0" * 100000), 400, "npz"),
        (
            "/ca/demo/gray/npz/1/0,2/0,2/0,2/",
            _npz(np.ones((1, 2, 2, 2), np.uint8)),
            400,
            "resolution",
        ),
        ("/ca/demo/gray/raw/0/0,2/0,2/0,2/", b"\0" * 8, 400, "npz"),
        ("/ca/demo/gray/npz/0/0,2048/0,2048/0,2/", b"", 413, str(LIMIT)),
    ],
)
def test_post_errors_write_nothing(
    env: Env, url: str, body: bytes, status: int, words: str
) -> None:
    r = env.client.post(url, content=body)
    assert r.status_code == status
    assert words in r.json()["error"]
    assert np.array_equal(env.node.volume("gray")[:2, :2, :2], env.gray[:2, :2, :2])


def test_post_to_committed_leaf_is_409(env: Env) -> None:
    env.node.commit()
    r = env.client.post(
        "/ca/demo/gray/npz/0/0,2/0,2/0,2/", content=_npz(np.ones((1, 2, 2, 2), np.uint8))
    )
    assert r.status_code == 409
