"""The remote client beyond the shared API suite: pieces, retries, errors, refusals."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import voxhub
from voxhub import Box
from voxhub.client.remote import RemoteHub
from voxhub.client.remote.errors import error_from_response
from voxhub.client.remote.pieces import split_box
from voxhub.client.remote.transport import Transport
from voxhub.errors import (
    AmbiguousUUID,
    CapabilityError,
    CodecError,
    Conflict,
    InvalidRequest,
    MergeConflict,
    NotFound,
    StorageError,
    TooLarge,
    VersionLocked,
    VoxhubError,
)
from voxhub.server.errors import error_body, status_for
from voxhub.testing.server import ServerProcess

from .faulty_proxy import FaultyProxy

# -- error mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        NotFound("no repo 'x'"),
        AmbiguousUUID("prefix 'a' matches 2 nodes"),
        InvalidRequest("field 'note' must be a string"),
        VersionLocked("node is committed"),
        Conflict("instance 'em' already exists"),
        TooLarge("exceeds the limit of 4096 bytes"),
        CapabilityError("not implemented"),
        StorageError("disk full"),
    ],
)
def test_server_errors_come_back_as_the_same_class_and_message(error: VoxhubError) -> None:
    status = status_for(error, "POST")
    back = error_from_response(status, _json(error_body(error)), "POST /x")
    assert type(back) is type(error)
    assert str(back) == str(error)


def test_merge_conflicts_keep_their_report() -> None:
    error = MergeConflict("2 conflicts", {"em": ["0:0,0,0", "0:1,0,0"]})
    back = error_from_response(409, _json(error_body(error)), "POST /merge")
    assert isinstance(back, MergeConflict)
    assert back.report == {"em": ["0:0,0,0", "0:1,0,0"]}


@pytest.mark.parametrize(
    ("status", "cls"),
    [(404, NotFound), (409, Conflict), (413, TooLarge), (400, InvalidRequest), (502, StorageError)],
)
def test_foreign_error_bodies_fall_back_on_the_status(status: int, cls: type) -> None:
    back = error_from_response(status, b"<html>Bad Gateway</html>", "GET /api/x")
    assert type(back) is cls
    assert "GET /api/x" in str(back)
    assert str(status) in str(back)


def test_an_unknown_error_type_falls_back_on_the_status() -> None:
    body = _json({"error": "odd", "type": "SomethingNew"})
    back = error_from_response(400, body, "GET /x")
    assert type(back) is InvalidRequest
    assert str(back) == "odd"
    codec = error_from_response(500, _json(error_body(CodecError("bad frame"))), "GET /x")
    assert type(codec) is CodecError


def _json(value: object) -> bytes:
    import json

    return json.dumps(value).encode()


# -- pieces ------------------------------------------------------------------------------

boxes = st.tuples(
    st.tuples(*[st.integers(-100, 100)] * 3), st.tuples(*[st.integers(0, 90)] * 3)
).map(lambda t: Box.from_shape(t[1], t[0]))


@given(boxes, st.tuples(*[st.sampled_from([4, 8, 16])] * 3), st.integers(1, 40000))
def test_pieces_tile_the_box_on_block_boundaries(
    box: Box, block: tuple[int, int, int], limit: int
) -> None:
    pieces = split_box(box, block, limit)
    cover = np.zeros(box.shape, np.int32)
    for p in pieces:
        assert not p.empty
        assert box.contains(p)
        cover[p.relative_to(box.start)] += 1
        for axis in range(3):  # inner boundaries fall on block boundaries
            for edge in (p.start[axis], p.stop[axis]):
                if box.start[axis] < edge < box.stop[axis]:
                    assert edge % block[axis] == 0
        assert p.size <= max(limit, int(np.prod(block)))  # over only when one block is
    assert (cover == (1 if not box.empty else 0)).all()


# -- against the real server -------------------------------------------------------------


def test_repo_by_alias_asks_the_alias_route_not_the_listing(
    voxhub_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxhub.client.remote.catalog import RemoteCatalog

    alias = f"by alias/{uuid_hex()}"  # a slash too: one path segment, quoted
    with RemoteHub(voxhub_server.url) as hub:
        repo = hub.create_repo(alias)

        def listing(self: RemoteCatalog) -> None:
            raise AssertionError("hub.repo(alias) listed every repo")

        monkeypatch.setattr(RemoteCatalog, "repos", listing)
        assert hub.repo(alias) == repo
        assert hub.repo(repo.root) == repo  # not an alias: found by UUID after a 404
        with pytest.raises(NotFound, match="nobody"):
            hub.repo(f"nobody-{uuid_hex()}")


def uuid_hex() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


def test_large_transfers_are_split_and_match_the_embedded_view(
    voxhub_server: ServerProcess,
) -> None:
    data = np.random.default_rng(7).integers(0, 2**16, (70, 90, 110), dtype=np.uint16)
    with RemoteHub(voxhub_server.url, piece_bytes=16 * 16 * 90 * 2 * 3) as hub:
        node = hub.create_repo("pieces").master
        vol = node.create_volume("em", "uint16", block_shape=(16, 16, 16))
        vol.write((-5, 3, 7), data)  # unaligned: edge blocks are read-modify-written
        box = Box.from_shape(data.shape, (-5, 3, 7))
        assert np.array_equal(vol.read(box), data)  # many blocks: the native block path
        small = Box((0, 10, 10), (4, 14, 14))  # one block: the raw path
        assert np.array_equal(vol.read(small), data[5:9, 7:11, 3:7])
        uuid = node.uuid
    with voxhub.open(voxhub_server.store) as local:  # the same bytes, read in-process
        assert np.array_equal(local.node(uuid).volume("em").read(box), data)


@pytest.fixture
def proxy_to(voxhub_server: ServerProcess) -> Iterator[type[FaultyProxy]]:
    made: list[FaultyProxy] = []

    class Bound(FaultyProxy):
        def __init__(self, cut: int) -> None:
            super().__init__(voxhub_server.port, cut)
            made.append(self)

    yield Bound
    for p in made:
        p.close()


def test_reads_are_retried_when_connections_drop(proxy_to: type[FaultyProxy]) -> None:
    proxy = proxy_to(cut=2)
    with voxhub.open(proxy.url) as hub:  # the first two connections die; reads retry
        assert proxy.connections == 3
        repo = hub.create_repo("retry")
        vol = repo.master.create_volume("em", "uint8")
        vol[0:2, 0:2, 0:2] = 9
        assert (vol[0:2, 0:2, 0:2] == 9).all()


def test_writes_are_not_repeated_after_a_cut(
    proxy_to: type[FaultyProxy], voxhub_server: ServerProcess
) -> None:
    with voxhub.open(voxhub_server.url) as direct:
        before = len(direct.repos())
    proxy = proxy_to(cut=1_000_000)  # every connection dies once the request is sent
    transport = Transport(proxy.url)
    with pytest.raises(StorageError, match="may or may not have been applied"):
        transport.request("POST", "/api/repos", json={"alias": "never"})
    assert proxy.connections == 1  # a POST is sent once, never again
    with voxhub.open(voxhub_server.url) as direct:
        assert len(direct.repos()) == before


def test_a_server_that_stays_down_is_a_storage_error(proxy_to: type[FaultyProxy]) -> None:
    proxy = proxy_to(cut=1_000_000)
    with pytest.raises(StorageError, match="unreachable after 4 attempts"):
        voxhub.open(proxy.url)
    assert proxy.connections == 4


def test_a_web_server_that_is_not_voxhub_is_refused() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(CapabilityError, match="not a voxhub server"):
            voxhub.open(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def test_bad_urls_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="server URL"):
        RemoteHub("http://")


# -- bounds without a round trip per read ------------------------------------------------


def test_bounds_are_learned_once_and_kept_current_by_our_own_writes(
    voxhub_server: ServerProcess,
) -> None:
    with voxhub.open(voxhub_server.url) as hub:
        node = hub.create_repo().master
        vol = node.create_volume("em", "uint8", block_shape=(8, 8, 8))
        paths: list[str] = []
        send = hub._http.request

        def counted(method: str, path: str, **kw: object) -> object:
            paths.append(path)
            return send(method, path, **kw)  # type: ignore[arg-type]

        hub._http.request = counted  # type: ignore[assignment,method-assign]
        vol[0:4, 0:4, 0:4] = 1
        for _ in range(3):
            assert vol[:, 0, :].shape == (4, 4)
        vol[4:6] = 2  # grows the cached bounds locally
        assert vol.shape == (6, 4, 4)
        assert (vol[-1] == 2).all()
        assert sum(p.endswith("/extents") for p in paths) == 1
        with voxhub.open(voxhub_server.url) as other:  # another client grows the volume
            other.node(node.uuid).volume("em")[9, 0, 0] = 3
        assert vol.shape == (6, 4, 4)  # not seen yet: documented
        vol.refresh()
        assert vol.shape == (10, 4, 4)
        assert vol[9, 0, 0] == 3
        with voxhub.open(voxhub_server.url) as other:
            other.node(node.uuid).volume("em")[11, 0, 0] = 4
        assert node.volume("em").shape == (12, 4, 4)  # a new handle starts fresh...
        assert vol.shape == (12, 4, 4)  # ... and so do the handles sharing its entry


def test_known_extents_grow_with_writes_and_never_keep_a_fetch_that_raced_one() -> None:
    from voxhub.client.remote.extents import KnownExtents

    served: list[Box | None] = [None]
    fetches: list[int] = []

    def fetch() -> Box | None:
        fetches.append(1)
        return served[0]

    known = KnownExtents(fetch)
    known.grew(Box((0, 0, 0), (1, 1, 1)))  # not known yet: nothing to grow
    assert known.get() is None  # fetched: nothing written
    known.grew(Box((2, 2, 2), (3, 3, 3)))
    assert known.get() == Box((2, 2, 2), (3, 3, 3))
    known.grew(Box((0, 0, 0), (1, 1, 1)))
    assert known.get() == Box((0, 0, 0), (3, 3, 3))
    assert len(fetches) == 1
    known.forget()
    served[0] = Box((0, 0, 0), (9, 9, 9))
    assert known.get() == Box((0, 0, 0), (9, 9, 9))
    assert len(fetches) == 2

    def racing_fetch() -> Box | None:  # our own write lands while the fetch is in flight
        racer.grew(Box((0, 0, 0), (5, 5, 5)))
        return Box((0, 0, 0), (1, 1, 1))

    racer = KnownExtents(racing_fetch)
    assert racer.get() == Box((0, 0, 0), (1, 1, 1))  # this answer is used once...
    racer._fetch = lambda: Box((0, 0, 0), (5, 5, 5))  # type: ignore[method-assign]
    assert racer.get() == Box((0, 0, 0), (5, 5, 5))  # ...but not kept: the next get refetches
