"""Each hostile input issue 9 lists gets a 4xx naming the problem through the real app,
never a 500, and stores nothing. (Hypothesis explores around these in ``tests/fuzz``.)"""

from __future__ import annotations

import gzip
import io
import logging
import struct
import zlib
from collections.abc import Iterator

import h5py
import httpx
import lz4.block
import numpy as np
import pytest
import zstandard
from starlette.routing import Route

from voxhub.client import EmbeddedHub
from voxhub.server import create_app

from .conftest import Env, TestClient

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 2_000 + b"1" + b"}" * 2_000
NEARLY_TOO_DEEP = b"[" * 900 + b"]" * 900  # parses, but would break repr/json.dumps later
THOUSANDS_OF_DIGITS = "9" * 5000


@pytest.fixture
def big_env() -> Iterator[TestClient]:
    """An app whose byte limit lets the deep JSON bodies through to the parser."""
    hub = EmbeddedHub.open("memory://")
    root = hub.create_repo("demo", "t").master
    root.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    root.create_labels("seg", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = 5
    with TestClient(create_app(hub, max_request_bytes=1 << 22)) as client:
        client.headers["x-uuid"] = root.uuid
        yield client
    hub.close()


def _refused(r: httpx.Response, *words: str, status: int = 400) -> None:
    assert r.status_code == status, r.text
    message = r.json()["error"]
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, NEARLY_TOO_DEEP])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/repos"),
        ("POST", "/api/node/{u}/branch"),
        ("POST", "/api/node/{u}/gray/extents"),
        ("POST", "/api/node/{u}/seg/merge"),
        ("GET", "/api/node/{u}/seg/labels"),
        ("GET", "/api/node/{u}/seg/mapping"),
    ],
)
def test_deeply_nested_json_is_400(
    big_env: TestClient, method: str, path: str, body: bytes
) -> None:
    url = path.format(u=big_env.headers["x-uuid"])
    _refused(big_env.request(method, url, content=body), "nests", "deeper")


def test_json_with_a_label_of_thousands_of_digits_or_nan_is_400(big_env: TestClient) -> None:
    u = big_env.headers["x-uuid"]
    r = big_env.post(f"/api/node/{u}/seg/merge", content=f"[{THOUSANDS_OF_DIGITS}, 5]")
    _refused(r, "merge body is not valid JSON", "digits")
    r = big_env.request("GET", f"/api/node/{u}/seg/labels", content=b"[[NaN, 0, 0]]")
    _refused(r, "NaN")


@pytest.mark.parametrize("bad", ["²", "٣", THOUSANDS_OF_DIGITS, "18446744073709551616", "--1"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/node/{u}/seg/size/{bad}"),
        ("GET", "/api/node/{u}/seg/sparsevol/{bad}"),
        ("GET", "/api/node/{u}/seg/index/{bad}"),
        ("POST", "/api/node/{u}/seg/nextlabel/{bad}"),
        ("GET", "/api/node/{u}/seg/listlabels?start={bad}"),
        ("GET", "/api/node/{u}/seg/sparsevol/5?minx={bad}"),
        ("GET", "/api/node/{u}/gray/raw/0_1_2/8_8_8/{bad}_0_0"),
        ("GET", "/api/node/{u}/gray/blocks/0_0_0/{bad}"),
        ("GET", "/api/node/{u}/gray/raw/0_1_2/8_8_8/0_0_0?scale={bad}"),
        ("GET", "/ca/demo/seg/{bad}/boundingbox/0/"),
        ("GET", "/ca/demo/gray/npz/{bad}/0,8/0,8/0,8/"),
        ("GET", "/ca/demo/gray/npz/0/0,{bad}/0,8/0,8/"),
    ],
)
def test_bad_numbers_in_urls_are_400(env: Env, method: str, path: str, bad: str) -> None:
    env.root.create_labels("seg", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = 5
    r = env.client.request(method, path.format(u=env.uuid, bad=bad))
    _refused(r, repr(bad[:40])[:-1])  # the message quotes the text it refused


def test_a_label_past_uint64_is_named_out_of_range(env: Env) -> None:
    env.root.create_labels("seg", block_shape=(8, 8, 8))
    r = env.client.get(f"/api/node/{env.uuid}/seg/size/18446744073709551616")
    _refused(r, "out of range 0..18446744073709551615")


def test_an_extents_point_past_int64_is_400_and_changes_nothing(env: Env) -> None:
    url = f"/api/node/{env.uuid}/gray/extents"
    before = env.client.get(url).json()
    for huge in (10**20, 1e300, "99999999999999999999"):
        r = env.client.post(url, json={"MinPoint": [0, 0, 0], "MaxPoint": [huge, 1, 1]})
        _refused(r, "extents MaxPoint")
    assert env.client.get(url).json() == before


def _voxels() -> bytes:
    return np.full(8 * 8 * 8, 3, np.uint8).tobytes()


@pytest.mark.parametrize(
    ("compression", "body"),
    [
        ("lz4", b""),
        ("lz4", b"garbage" * 10),
        ("lz4", b"\xff" * 64),
        ("lz4", lz4.block.compress(_voxels(), store_size=False)[:-3]),
        ("lz4", b"\x04\x22\x4d\x18" + b"\x00" * 20),  # an LZ4 frame magic, then junk
        ("gzip", gzip.compress(_voxels(), mtime=0)[:-12]),
        ("gzip", b"\x1f\x8b" + b"\x00" * 30),
        ("zstd", zstandard.ZstdCompressor().compress(_voxels())[:-4]),
        ("zstd", b"\x28\xb5\x2f\xfd" + b"\xff" * 20),
    ],
)
def test_corrupt_or_truncated_compressed_bodies_are_400(
    env: Env, compression: str, body: bytes
) -> None:
    url = f"/api/node/{env.uuid}/gray/raw/0_1_2/8_8_8/0_0_0?compression={compression}"
    before = env.client.get(url.split("?")[0]).content
    r = env.client.post(url, content=body)
    assert r.status_code == 400, r.text
    assert compression in r.json()["error"] or "bytes" in r.json()["error"]
    assert env.client.get(url.split("?")[0]).content == before


@pytest.mark.parametrize("compression", ["lz4", "gzip", "zstd"])
def test_a_decompression_bomb_inflates_no_further_than_the_box(env: Env, compression: str) -> None:
    bomb_source = bytes(1 << 19)  # 512 KiB of zeros, 1000 times the box
    body = {
        "lz4": lambda: lz4.block.compress(bomb_source, store_size=False),
        "gzip": lambda: gzip.compress(bomb_source),
        "zstd": lambda: zstandard.ZstdCompressor().compress(bomb_source),
    }[compression]()
    assert len(body) < 4096  # under the server limit: only the decoder can refuse it
    url = f"/api/node/{env.uuid}/gray/raw/0_1_2/8_8_8/0_0_0?compression={compression}"
    r = env.client.post(url, content=body)
    _refused(r, "the box needs exactly 512 bytes")


def _npz(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return zlib.compress(buf.getvalue())


def _hdf5(fill: object) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        group = f.create_group("gray")
        if callable(fill):
            fill(group)
    return buf.getvalue()


GOOD_NPZ = _npz(np.zeros((1, 8, 8, 8), np.uint8))
GOOD_HDF5 = _hdf5(lambda g: g.create_dataset("CUTOUT", data=np.zeros((8, 8, 8), np.uint8)))


@pytest.mark.parametrize(
    ("fmt", "body", "words"),
    [
        ("npz", b"", ("npz",)),
        ("npz", b"\x00", ("npz",)),
        ("npz", GOOD_NPZ[:20], ("npz",)),
        ("npz", zlib.compress(zlib.decompress(GOOD_NPZ)[:100]), ("npz",)),
        ("hdf5", b"", ("HDF5",)),
        ("hdf5", GOOD_HDF5[: len(GOOD_HDF5) // 2], ("HDF5",)),
        ("hdf5", _hdf5(None), ("/gray/CUTOUT",)),
        ("hdf5", _hdf5(lambda g: g.create_dataset("CUTOUT", data=np.zeros(3, "S1"))), ("shape",)),
        (
            "hdf5",
            _hdf5(lambda g: g.create_dataset("CUTOUT", shape=(8, 8, 8), dtype=[("a", "u1")])),
            ("datatype",),
        ),
        ("blosc", b"\x00" * 8, ("blosc",)),
        ("blosc", b"\xff" * 64, ("blosc",)),
    ],
)
def test_odd_ndstore_bodies_are_400(env: Env, fmt: str, body: bytes, words: tuple[str]) -> None:
    r = env.client.post(f"/ca/demo/gray/{fmt}/0/0,8/0,8/0,8/", content=body)
    assert r.status_code == 400, r.text
    assert any(w.lower() in r.json()["error"].lower() for w in words), r.json()


@pytest.mark.parametrize(
    "body",
    [
        b"\x00" * 15,  # a truncated header
        struct.pack("<iiii", 0, 0, 0, 1000) + b"x",  # a record longer than the stream
        struct.pack("<iiii", 0, 0, 0, -1),
        struct.pack("<iiii", 0, 0, 0, 4) + b"\xff" * 4,  # a payload no codec decodes
    ],
)
def test_malformed_block_streams_are_400(env: Env, body: bytes) -> None:
    env.root.create_labels("seg", block_shape=(8, 8, 8))
    assert (
        env.client.post(f"/api/node/{env.uuid}/gray/blocks/0_0_0/1", content=body).status_code
        == 400
    )
    assert env.client.post(f"/api/node/{env.uuid}/seg/blocks", content=body).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b"\x00" * 11,
        struct.pack("<BBBBII", 0, 3, 0, 0, 0, 5) + b"\x00" * 16,  # claims 5 spans, has 1
        struct.pack("<BBBBII", 0, 3, 0, 0, 0, 1) + struct.pack("<iiii", 0, 0, 0, -5),
        struct.pack("<BBBBII", 0, 3, 0, 0, 0, 1) + struct.pack("<iiii", 2**31 - 1, 0, 0, 9),
    ],
)
def test_malformed_split_rles_are_400(env: Env, body: bytes) -> None:
    env.root.create_labels("seg", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = 5
    for route in ("split", "split-supervoxel"):
        r = env.client.post(f"/api/node/{env.uuid}/seg/{route}/5", content=body)
        assert r.status_code == 400, r.text


def test_an_unexpected_exception_is_a_logged_json_500(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth only: a bug gets a JSON 500 naming no internals, and a log line."""

    async def broken(request: object) -> None:
        raise ZeroDivisionError("secret detail")

    env.client.app.router.routes.insert(0, Route("/api/broken", broken))  # type: ignore[attr-defined]
    quiet = TestClient(env.client.app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="voxhub.server"):
        r = quiet.get("/api/broken")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error on GET /api/broken", "type": "InternalError"}
    assert "ZeroDivisionError on GET /api/broken" in caplog.text


@pytest.mark.parametrize(("dims", "size"), [("xy", "1_70000"), ("yz", "20_70000")])
def test_a_jpeg_past_libjpegs_side_limit_is_400_naming_it(
    big_env: TestClient, dims: str, size: str
) -> None:
    u = big_env.headers["x-uuid"]
    r = big_env.get(f"/api/node/{u}/gray/raw/{dims}/{size}/0_0_0/jpeg")
    _refused(r, "at most 65500 pixels", "png or tiff")
    assert big_env.get(f"/api/node/{u}/gray/raw/{dims}/{size}/0_0_0/png").status_code == 200


def test_a_deeply_nested_login_body_is_400_with_authentication_on() -> None:
    from .auth_env import open_auth_env

    with open_auth_env() as auth:
        r = auth.client.post(
            "/api/server/login",
            content=b"[" * 4000 + b"]" * 4000,
            headers={"Content-Type": "application/json"},
        )
    _refused(r, "login body", "deeper")


def test_blocks_too_tall_for_one_jpeg_are_refused_before_reading() -> None:
    hub = EmbeddedHub.open("memory://")
    root = hub.create_repo("demo", "t").master
    root.create_volume("tall", "uint8", block_shape=(256, 256, 1))  # a 65536 x 1 image
    with TestClient(create_app(hub, max_request_bytes=1 << 22)) as client:
        url = f"/api/node/{root.uuid}/tall/subvolblocks/1_256_256/0_0_0?compression=jpeg"
        _refused(client.get(url), "65500")
        assert client.get(url.replace("jpeg", "zstd")).status_code == 200
    hub.close()


@pytest.mark.parametrize(
    ("corners", "res", "status", "words"),
    [
        ("0_0_0/1e300_0_0/0_1_0", "1", 400, "beyond ±2**40"),
        ("0_0_0/8_0_0/0_8_0", "1e-320", 413, "limited to"),
        ("0_0_0/8_0_0/0_8_0", "inf", 400, "positive number"),
        ("0_0_0/8_0_0/0_8_0", "nan", 400, "positive number"),
        ("0_0_0/0_0_0/0_0_0", "1", 400, "span a plane"),
    ],
)
def test_arb_planes_out_of_any_range_are_refused(
    env: Env, corners: str, res: str, status: int, words: str
) -> None:
    r = env.client.get(f"/api/node/{env.uuid}/gray/arb/{corners}/{res}")
    _refused(r, words, status=status)
