"""ndstore cutout URLs: tokens, formats, slices, bounds, POST of npz, blosc and hdf5 bodies."""

from __future__ import annotations

import io
import os
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path

import blosc  # type: ignore[import-untyped]
import h5py
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from server_image.conftest import LIMIT, Env
from voxhub.datatypes.wire import ndstore_bodies as nd_bodies
from voxhub.errors import InvalidRequest


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
        ("/ca/demo/gray/blosc/0/0,33/0,4/0,4/", 400, "bounds"),
    ],
)
def test_cutout_errors(env: Env, url: str, status: int, words: str) -> None:
    r = env.client.get(url)
    assert r.status_code == status
    assert words in r.json()["error"]


def test_cutout_over_limit_is_413(env: Env) -> None:
    # one voxel at the far corner makes the 2 MiB box lie inside the volume's extents
    env.node.volume("gray").write((3, 511, 1023), np.ones((1, 1, 1), np.uint8))
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


# -- blosc --------------------------------------------------------------------------------
DTYPES = ("uint8", "uint16", "uint32", "uint64", "float32")
BOX = "/ca/demo/gray/{fmt}/0/0,2/0,2/0,2/"


def _unchanged(env: Env) -> bool:
    return np.array_equal(env.node.volume("gray")[:2, :2, :2], env.gray[:2, :2, :2])


def _blosc_pickle(obj: object, protocol: int = pickle.HIGHEST_PROTOCOL) -> bytes:
    """What ``blosc.pack_array`` does, for any object and pickle protocol."""
    return bytes(blosc.compress(pickle.dumps(obj, protocol), typesize=1))


class _Mkdir:
    """A pickle that runs ``os.mkdir(path)`` when loaded: a stand-in for any code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.path),))


def test_blosc_cutout_is_pack_array(env: Env) -> None:
    r = env.client.get("/ca/demo/gray/blosc/0/2,7/1,5/6,9/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "product/blosc"
    got = blosc.unpack_array(r.content)
    assert got.shape == (1, 3, 4, 5)
    assert np.array_equal(got[0], env.gray[6:9, 1:5, 2:7])


def test_post_blosc_pack_array_then_read_back(env: Env) -> None:
    data = np.arange(60, dtype=np.uint8).reshape(1, 3, 4, 5)
    r = env.client.post("/ca/demo/gray/blosc/0/2,7/1,5/6,9/", content=blosc.pack_array(data))
    assert r.status_code == 200, r.text
    back = env.client.get("/ca/demo/gray/blosc/0/2,7/1,5/6,9/")
    assert np.array_equal(blosc.unpack_array(back.content), data)


def test_post_raw_blosc(env: Env) -> None:
    data = np.arange(60, dtype=np.uint16).reshape(3, 4, 5) * 1000
    body = blosc.compress(data.tobytes(), typesize=2)
    r = env.client.post("/ca/demo/deep/blosc/0/2,7/1,5/6,9/", content=body)
    assert r.status_code == 200, r.text
    assert np.array_equal(env.node.volume("deep")[6:9, 1:5, 2:7], data)


@pytest.fixture
def typed(env: Env) -> Env:
    """``env`` with one empty volume per voxhub dtype, named after it."""
    for dtype in DTYPES:
        env.node.create_volume(dtype, dtype, block_shape=(8, 8, 8))
    return env


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), raw=st.booleans())
def test_blosc_post_get_round_trip(typed: Env, data: st.DataObject, dtype: str, raw: bool) -> None:
    start = data.draw(st.tuples(*[st.integers(0, 12)] * 3), label="start")
    shape = data.draw(st.tuples(*[st.integers(1, 6)] * 3), label="shape")
    array = data.draw(hnp.arrays(dtype, shape), label="array")
    ranges = "/".join(f"{start[i]},{start[i] + shape[i]}" for i in (2, 1, 0))
    url = f"/ca/demo/{dtype}/blosc/0/{ranges}/"
    if raw:
        body = blosc.compress(array.tobytes(), typesize=array.itemsize)
    else:
        body = blosc.pack_array(array[np.newaxis])
    assert typed.client.post(url, content=body).status_code == 200
    got = blosc.unpack_array(typed.client.get(url).content)
    assert got.shape == (1, *shape)
    assert got.dtype == array.dtype
    assert got.tobytes() == array.tobytes()  # bytes: NaN payloads included


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.tuples(*[st.integers(1, 5)] * 3),
    protocol=st.integers(2, 5),
    layout=st.sampled_from(["C", "F", "reversed", "4d"]),
    data=st.data(),
)
def test_unpickler_reads_every_numpy_pickle(
    dtype: str, shape: tuple[int, int, int], protocol: int, layout: str, data: st.DataObject
) -> None:
    array = data.draw(hnp.arrays(dtype, shape))
    sent = {
        "C": array,
        "F": np.asfortranarray(array),
        "reversed": array[::-1, ::-1][::-1, ::-1],
        "4d": array[np.newaxis],
    }[layout]
    got = nd_bodies.unpickle_array(pickle.dumps(sent, protocol))
    assert type(got) is np.ndarray
    assert got.shape == sent.shape
    assert got.dtype == sent.dtype
    assert np.asarray(got, order="C").tobytes() == np.asarray(sent, order="C").tobytes()


def test_malicious_pickle_runs_nothing(env: Env, tmp_path: Path) -> None:
    # the payload is live: unpack_array on it really runs os.mkdir
    blosc.unpack_array(_blosc_pickle(_Mkdir(tmp_path / "proof")))
    assert (tmp_path / "proof").is_dir()
    target = tmp_path / "pwned"
    for payload in (_Mkdir(target), [np.ones((1, 2, 2, 2), np.uint8), _Mkdir(target)]):
        for protocol in (2, 5):
            r = env.client.post(BOX.format(fmt="blosc"), content=_blosc_pickle(payload, protocol))
            assert r.status_code == 400
            assert "mkdir" in r.json()["error"]
    assert not target.exists()
    assert _unchanged(env)


def _pickle_calling(module: str, name: str, args: bytes) -> bytes:
    """A protocol-2 pickle of ``module.name(*args)``; ``args`` are pickle opcodes of a tuple."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + args + b"R."


_REFUSED_PICKLES = {
    # allowed names, misused: bytes(n) would allocate n bytes, _codecs.encode run any codec,
    # ndarray(shape) allocate any shape through REDUCE or NEWOBJ
    "bytes(n)": (_pickle_calling("__builtin__", "bytes", b"J\x00\x00\x00\x40\x85"), "pickled"),
    "encode zlib": (
        _pickle_calling("_codecs", "encode", b"X\x01\x00\x00\x00aX\x04\x00\x00\x00zlib\x86"),
        "latin1",
    ),
    "dtype O": (_pickle_calling("numpy", "dtype", b"X\x01\x00\x00\x00O\x85"), "not a number"),
    "ndarray()": (_pickle_calling("numpy", "ndarray", b"K\x08\x85\x85"), "pickled"),
    "NEWOBJ ndarray": (b"\x80\x02cnumpy\nndarray\nK\x08\x85\x85\x81.", "pickled"),
    "object array": (pickle.dumps(np.array([1, "a"], dtype=object)), "not a number"),
    "masked array": (pickle.dumps(np.ma.masked_array([1, 2], dtype=np.uint8)), "numpy.ma"),
    "record array": (pickle.dumps(np.zeros(2, dtype=[("a", "u1"), ("b", "u1")])), "not a number"),
    "list": (pickle.dumps([1, 2, 3]), "list"),
    "garbage": (b"\x80\x05garbage", "pickled"),
}


@pytest.mark.parametrize(
    ("pickled", "words"), list(_REFUSED_PICKLES.values()), ids=list(_REFUSED_PICKLES)
)
def test_unpickler_refuses(pickled: bytes, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        nd_bodies.unpickle_array(pickled)


def _oversized_header() -> bytes:
    header = bytearray(blosc.compress(b"\0" * 64, typesize=1))
    header[4:8] = (1 << 30).to_bytes(4, "little")  # claims 1 GiB uncompressed
    return bytes(header)


_BAD_BLOSC = {
    "shape": (blosc.pack_array(np.ones((1, 2, 2, 3), np.uint8)), 400, "mismatched"),
    "uint16": (blosc.pack_array(np.ones((1, 2, 2, 2), np.uint16)), 400, "Wrong datatype"),
    "int8": (blosc.pack_array(np.ones((1, 2, 2, 2), np.int8)), 400, "Wrong datatype"),
    "inflates": (blosc.compress(b"\1" * 100_000, typesize=1), 400, "larger than the box"),
    "header 1 GiB": (_oversized_header(), 413, str(LIMIT)),
    "raw, wrong size": (blosc.compress(b"\1" * 7, typesize=1), 400, "not a pickled"),
    "trailing": (blosc.pack_array(np.ones((1, 2, 2, 2), np.uint8)) + b"x", 400, "one blosc"),
    "short": (b"short", 400, "blosc header"),
    "not blosc": (b"\2\1\1\1" + b"\xff" * 40, 400, "blosc"),
}


@pytest.mark.parametrize(
    ("body", "status", "words"), list(_BAD_BLOSC.values()), ids=list(_BAD_BLOSC)
)
def test_post_blosc_errors_write_nothing(
    env: Env, monkeypatch: pytest.MonkeyPatch, body: bytes, status: int, words: str
) -> None:
    if status == 413 or "larger" in words:  # refused from the header alone, never inflated
        monkeypatch.setattr(blosc, "decompress", _must_not_run)
    r = env.client.post(BOX.format(fmt="blosc"), content=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert _unchanged(env)


def _must_not_run(*args: object, **kwargs: object) -> bytes:
    raise AssertionError("blosc.decompress called on a body refused by its header")


# -- hdf5 POST ----------------------------------------------------------------------------
def _h5(build: Callable[[h5py.File], object]) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def _cutout(
    data: np.ndarray, channel: str = "gray", datatype: str | None = "uint8"
) -> Callable[[h5py.File], object]:
    def build(f: h5py.File) -> None:
        group = f.create_group(channel)
        group.create_dataset("CUTOUT", data=data, compression="gzip")
        if datatype is not None:
            group.create_dataset("DATATYPE", (1,), dtype=h5py.string_dtype(), data=[datatype])

    return build


def test_post_hdf5_then_read_back(env: Env) -> None:
    data = np.arange(60, dtype=np.uint8).reshape(1, 3, 4, 5)
    url = "/ca/demo/gray/hdf5/0/2,7/1,5/6,9/"
    r = env.client.post(url, content=_h5(_cutout(data)))
    assert r.status_code == 200, r.text
    assert np.array_equal(env.node.volume("gray")[6:9, 1:5, 2:7], data[0])
    # our own hdf5 cutout posts back unchanged (3-D CUTOUT, scalar DATATYPE)
    cutout = env.client.get("/ca/demo/gray/hdf5/0/0,32/0,24/0,16/").content
    r = env.client.post("/ca/demo/gray/hdf5/0/0,32/0,24/16,32/", content=cutout)
    assert r.status_code == 200, r.text
    assert np.array_equal(env.node.volume("gray")[16:32], env.node.volume("gray")[0:16])


def _external_storage(secret: Path) -> Callable[[h5py.File], object]:
    def build(f: h5py.File) -> None:
        f.create_group("gray").create_dataset(
            "CUTOUT", (2, 2, 2), np.uint8, external=[(str(secret), 0, 8)]
        )

    return build


def _external_link(f: h5py.File) -> None:
    f["gray"] = h5py.ExternalLink("elsewhere.h5", "/gray")


def _soft_link(f: h5py.File) -> None:
    f.create_dataset("data", data=np.ones((2, 2, 2), np.uint8))
    f.create_group("gray")["CUTOUT"] = h5py.SoftLink("/data")


def _cutout_is_group(f: h5py.File) -> None:
    f.create_group("gray/CUTOUT")


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (_cutout(np.ones((1, 2, 2, 3), np.uint8)), "mismatched"),
        (_cutout(np.ones((2, 2, 2), np.uint16), datatype=None), "Wrong datatype"),
        (_cutout(np.ones((2, 2, 2), np.uint8), datatype="uint16"), "DATATYPE is 'uint16'"),
        (_cutout(np.ones((2, 2, 2), np.uint8), channel="other"), "no /gray"),
        (lambda f: f.create_group("gray"), "no /gray/CUTOUT"),
        (_cutout_is_group, "/gray/CUTOUT is not a dataset"),
        (_external_link, "ExternalLink"),
        (_soft_link, "SoftLink"),
    ],
)
def test_post_hdf5_errors_write_nothing(
    env: Env, build: Callable[[h5py.File], object], words: str
) -> None:
    r = env.client.post(BOX.format(fmt="hdf5"), content=_h5(build))
    assert r.status_code == 400
    assert words in r.json()["error"]
    assert _unchanged(env)


def test_post_hdf5_refuses_external_storage(env: Env, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"SECRET!!")
    r = env.client.post(BOX.format(fmt="hdf5"), content=_h5(_external_storage(secret)))
    assert r.status_code == 400
    assert "external" in r.json()["error"]
    assert _unchanged(env)


def test_post_hdf5_needs_an_hdf5_body(env: Env) -> None:
    r = env.client.post(BOX.format(fmt="hdf5"), content=b"not hdf5 at all")
    assert r.status_code == 400
    assert "not an HDF5 file" in r.json()["error"]
    assert "/gray/CUTOUT" in r.json()["error"]
