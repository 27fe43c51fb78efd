"""``view_answer``: ETag/304, Cache-Control and single byte ranges (206/416), the rules
every view (precomputed, Zarr, meshes) answers by. Ranges are checked against Python's
slicing of the body for any body and any range header a reader may send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from voxhub.server.view_answer import strong_etag, view_answer

BODY = bytes(range(256)) * 4  # 1024 bytes, each position distinguishable mod 256


def _app(body: bytes, committed: bool) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return view_answer(request, body, "application/octet-stream", committed=committed)

    return Starlette(routes=[Route("/x", endpoint)])


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(_app(BODY, committed=True))


def test_whole_body_with_validators(client: TestClient) -> None:
    reply = client.get("/x")
    assert reply.status_code == 200
    assert reply.content == BODY
    assert reply.headers["etag"] == strong_etag(BODY)
    assert reply.headers["accept-ranges"] == "bytes"
    assert "immutable" in reply.headers["cache-control"]
    open_node = TestClient(_app(BODY, committed=False)).get("/x")
    assert open_node.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "if_none_match", [strong_etag(BODY), f"W/{strong_etag(BODY)}", f'"x", {strong_etag(BODY)}', "*"]
)
def test_matching_tag_is_304(client: TestClient, if_none_match: str) -> None:
    reply = client.get("/x", headers={"If-None-Match": if_none_match})
    assert reply.status_code == 304
    assert reply.content == b""
    assert reply.headers["etag"] == strong_etag(BODY)


def test_other_tag_is_200(client: TestClient) -> None:
    assert client.get("/x", headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-15", 0, 16),  # tensorstore: one minishard index entry
        ("bytes=16-31", 16, 32),
        ("bytes=-132", 1024 - 132, 1024),  # zarr sharding_indexed: the index at the end
        ("bytes=1000-", 1000, 1024),
        ("bytes=1000-5000", 1000, 1024),  # an end past the body is clamped
        ("bytes=-5000", 0, 1024),
    ],
)
def test_single_ranges_are_206(client: TestClient, header: str, start: int, stop: int) -> None:
    reply = client.get("/x", headers={"Range": header})
    assert reply.status_code == 206
    assert reply.content == BODY[start:stop]
    assert reply.headers["content-range"] == f"bytes {start}-{stop - 1}/1024"
    assert reply.headers["content-length"] == str(stop - start)


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(client: TestClient, header: str) -> None:
    reply = client.get("/x", headers={"Range": header})
    assert reply.status_code == 416
    assert reply.headers["content-range"] == "bytes */1024"
    assert "1024" in reply.json()["error"]


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-3", "bytes=5-2", "bytes=x-"])
def test_several_or_malformed_ranges_get_the_whole_body(client: TestClient, header: str) -> None:
    reply = client.get("/x", headers={"Range": header})
    assert (reply.status_code, reply.content) == (200, BODY)


def test_if_range_with_a_stale_tag_gets_the_whole_body(client: TestClient) -> None:
    stale = client.get("/x", headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert (stale.status_code, stale.content) == (200, BODY)
    fresh = client.get("/x", headers={"Range": "bytes=0-9", "If-Range": strong_etag(BODY)})
    assert (fresh.status_code, fresh.content) == (206, BODY[:10])


@given(
    size=st.integers(0, 300),
    first=st.integers(0, 400) | st.none(),
    last=st.integers(0, 400) | st.none(),
)
def test_any_range_selects_what_slicing_selects(
    size: int, first: int | None, last: int | None
) -> None:
    body = bytes(i % 251 for i in range(size))
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    reply = TestClient(_app(body, committed=False)).get("/x", headers={"Range": header})
    backwards = first is not None and last is not None and last < first
    if first is None and last is None:
        expected = (200, body)  # malformed: ignored
    elif size == 0:
        expected = (416, None)  # any range of an empty body
    elif backwards:
        expected = (200, body)  # malformed: ignored
    elif (first is None and last == 0) or (first is not None and first >= size):
        expected = (416, None)
    elif first is None:
        assert last is not None
        expected = (206, body[max(0, size - last) :])
    else:
        expected = (206, body[first : size if last is None else last + 1])
    assert reply.status_code == expected[0]
    if expected[1] is not None:
        assert reply.content == expected[1]
    if reply.status_code == 416:
        assert reply.headers["content-range"] == f"bytes */{size}"
