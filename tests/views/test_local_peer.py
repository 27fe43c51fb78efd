"""View answers go uncompressed to a client straight on this machine (a loopback peer,
no forwarding header) and compressed to every other one, or to all with
``--compress-loopback`` (``voxhub.server.local_peer``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import anyio
import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from tests.server.asgi_call import call

import voxhub
from voxhub.client import EmbeddedHub
from voxhub.server.app import COMPRESS_LOOPBACK_ENV, app_from_env, create_app
from voxhub.server.local_peer import is_loopback

TENSORSTORE = {"accept-encoding": "deflate, gzip, br, zstd"}


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedHub, list[str]]]:
    hub = voxhub.open(str(tmp_path_factory.mktemp("local") / "store"), mode="w")
    assert isinstance(hub, EmbeddedHub)
    root = hub.create_repo("local").master
    labels = (np.arange(32**3, dtype=np.uint64).reshape(32, 32, 32) // 3000) + 1
    root.create_labels("seg", block_shape=(32, 32, 32))[0:32, 0:32, 0:32] = labels
    root.commit("labels")
    child = root.newversion("open")
    chunk = "8_8_8/0-32_0-32_0-32"
    paths = [
        f"/precomputed/{root.uuid}/seg/info",
        f"/precomputed/{root.uuid}/seg/{chunk}",  # committed: the view cache
        f"/precomputed/{child.uuid}/seg/{chunk}",  # open: kept answers (precomputed_open)
        f"/precomputed/{child.uuid}/seg/supervoxels/{chunk}",
    ]
    yield hub, paths
    hub.close()


@pytest.mark.parametrize("index", range(4))
def test_a_loopback_client_gets_answers_as_they_are_and_others_get_them_packed(
    scene: tuple[EmbeddedHub, list[str]], index: int
) -> None:
    hub, paths = scene
    path = paths[index]
    app = create_app(hub)
    plain = call(app, "GET", path, {"accept-encoding": "identity"}, client="10.1.2.3")
    assert plain.status == 200
    assert "content-encoding" not in plain.headers
    for peer in ("127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"):
        local = call(app, "GET", path, TENSORSTORE, client=peer)
        assert local.status == 200
        assert "content-encoding" not in local.headers, peer
        assert local.body == plain.body
        assert local.headers["etag"] == plain.headers["etag"]
    remote = call(app, "GET", path, TENSORSTORE, client="10.1.2.3")
    # forwarded by a proxy on this machine: the client is elsewhere
    proxied = call(app, "GET", path, {**TENSORSTORE, "x-forwarded-for": "10.1.2.3"})
    via = call(app, "GET", path, {**TENSORSTORE, "via": "1.1 proxy"})
    forced = call(create_app(hub, compress_loopback=True), "GET", path, TENSORSTORE)
    for packed in (remote, proxied, via, forced):
        assert packed.status == 200
        assert packed.headers["content-encoding"] == "zstd"
        assert zstandard.ZstdDecompressor().decompressobj().decompress(packed.body) == plain.body
        assert packed.headers["etag"] != plain.headers["etag"]


def test_workers_take_the_setting_from_the_environment(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXHUB_STORE", f"{tmp_path}/store")
    for value, expected in (("1", True), ("0", False)):
        monkeypatch.setenv(COMPRESS_LOOPBACK_ENV, value)
        app = app_from_env()
        assert app.state.compress_loopback is expected
        anyio.run(_shut_down, app)


async def _shut_down(app: Starlette) -> None:
    async with app.router.lifespan_context(app):  # closes the store the app opened
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_loopback_addresses_are_127_slash_8_and_ipv6_loopback(number: int, mapped: bool) -> None:
    v4 = ipaddress.IPv4Address(number)
    text = f"::ffff:{v4}" if mapped else str(v4)
    assert is_loopback(text) is (number >> 24 == 127)
    assert is_loopback("::1")
    assert not is_loopback("::2")
    assert not is_loopback("localhost")
    assert not is_loopback("testclient")
