"""The views' chunk and shard routes answer as Starlette function endpoints would.

Those routes are plain ASGI endpoints with a light request
(:mod:`voxhub.server.view_request`), their answers build their header lists directly
(:func:`voxhub.server.view_answer.view_answer`) and the node and instance a URL names are
kept per repo generation (:mod:`voxhub.server.view_names`). Here an app whose view routes
are ordinary function endpoints (``bind(handler)``, the way every other route is served)
answers the same requests: status, headers (but the request id and date) and body must be
the same for any mix of conditional, ranged, encoded and cross-origin requests, absent
chunks and bad keys included. The answers' header lists are checked against what
Starlette's own ``Response`` makes of the same status, headers and body.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from tests.server.asgi_call import Answer, call

import voxhub
from voxhub.client import EmbeddedHub
from voxhub.datatypes.wire.api import Api, ApiRoute
from voxhub.server import precomputed, zarr_view
from voxhub.server.app import create_app
from voxhub.server.context import Binder, ServerContext
from voxhub.server.view_answer import view_answer
from voxhub.server.view_request import ViewHandler, ViewRequest

SIDE = 32  # 16³ blocks, 2 per axis


def _slow_route(
    path: str, bind: Binder, handler: ViewHandler, *, api: Api | None = None
) -> BaseRoute:
    """A view route as a Starlette function endpoint (the reference)."""

    async def endpoint(request: Request, ctx: ServerContext) -> Response:
        # Starlette's own request: its path parameters and Headers (handlers read no more)
        return await handler(cast(ViewRequest, request), ctx)

    endpoint.__doc__ = handler.__doc__
    return ApiRoute(path, bind(endpoint), methods=["GET"], api=api)


@dataclass(frozen=True)
class Apps:
    root: str  # committed
    child: str  # open
    slow: Starlette  # view routes as function endpoints
    fast: Starlette  # as served


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    store: Path = tmp_path_factory.mktemp("fast") / "store"
    hub = voxhub.open(str(store), mode="w")
    assert isinstance(hub, EmbeddedHub)
    node = hub.create_repo("fast").master
    z, y, x = np.indices((SIDE, SIDE, SIDE))
    em = node.create_volume("em", "uint8", block_shape=(16, 16, 16), voxel_size=(8, 8, 8))
    em[:, :, : SIDE // 2] = ((x * 7 + y * 3 + z) % 250).astype(np.uint8)[:, :, : SIDE // 2]
    seg = node.create_labels("seg", block_shape=(16, 16, 16), voxel_size=(8, 8, 8))
    seg[:, :, :] = (x // 5 + 1000 * (y // 9) + 10**6 * (z // 11)).astype(np.uint64)
    node.commit("data")
    child = node.newversion("open")
    child.labels("seg").merge(1, [2])
    fast = create_app(hub, allowed_hosts=())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(precomputed, "view_route", _slow_route)
        patch.setattr(zarr_view, "view_route", _slow_route)
        slow = create_app(hub, allowed_hosts=())
    try:
        yield Apps(node.uuid, child.uuid, slow, fast)
    finally:
        hub.close()


def _paths(root: str, child: str) -> list[str]:
    out = []
    for node in (root, child, f"{root}:master", root[:6]):
        pre = f"/precomputed/{node}"
        out += [
            f"{pre}/em/8_8_8/0-16_0-16_0-16",
            f"{pre}/em/8_8_8/16-32_0-16_0-16",  # never written: 404
            f"{pre}/em/8_8_8/0-16_0-16_0-8",  # not one chunk: 400
            f"{pre}/em/9_9_9/0-16_0-16_0-16",  # no such scale: 404
            f"{pre}/seg/8_8_8/0-16_16-32_0-16",
            f"{pre}/seg/supervoxels/8_8_8/16-32_16-32_16-32",
            f"{pre}/nothing/8_8_8/0-16_0-16_0-16",
            f"/zarr/{node}/em/s0/c/0/0/0",
            f"/zarr/{node}/em/s0/c/0/0/1",
            f"/zarr/{node}/seg/s0/c/1/0/1",
            f"/zarr/{node}/em/sharded/s0/c/0/0/0",
            f"/zarr/{node}/seg/supervoxels/sharded/s0/c/0/0/0",
            f"/zarr/{node}/em/s1/c/0/0/0",  # no level 1: 404
        ]
    return out


HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "range": st.sampled_from(["bytes=0-99", "bytes=-10", "bytes=5-", "bytes=9999999-", "x"]),
        "if-none-match": st.sampled_from(["*", '"nope"', "TAG", "W/TAG"]),
        "if-range": st.sampled_from(['"nope"', "TAG"]),
        "accept-encoding": st.sampled_from(["gzip", "deflate, gzip, br, zstd", "identity", "*"]),
        "origin": st.sampled_from(["https://viewer.example", "null"]),
    },
)


def _comparable(answer: Answer) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [
        (k, v) for k, v in answer.headers.items() if k not in ("x-request-id", "date", "server")
    ]
    return answer.status, sorted(headers), answer.body


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), headers=HEADERS, method=st.sampled_from(["GET", "GET", "HEAD", "POST"]))
def test_fast_routes_answer_as_function_endpoints(
    apps: Apps, data: st.DataObject, headers: dict[str, str], method: str
) -> None:
    path = data.draw(st.sampled_from(_paths(apps.root, apps.child)))
    tag = call(apps.slow, "GET", path).headers.get("etag", '"none"')
    sent = {k: v.replace("TAG", tag) for k, v in headers.items()}
    for _ in range(2):  # a first answer, then one from the caches
        slow = call(apps.slow, method, path, sent)
        fast = call(apps.fast, method, path, sent)
        assert _comparable(fast) == _comparable(slow), (method, path, sent)


def _starlette(status: int, body: bytes, media: str, headers: dict[str, str]) -> Response:
    if status == 304:  # no body, and so no type either
        return Response(status_code=304, headers=headers)
    return Response(body, status, headers, media)


@settings(max_examples=80, deadline=None)
@given(
    body=st.binary(max_size=300),
    committed=st.booleans(),
    media=st.sampled_from(["application/octet-stream", "application/json", "text/plain"]),
    extra=st.dictionaries(st.sampled_from(["Vary", "Content-Encoding"]), st.just("x")),
    headers=HEADERS,
)
def test_answers_carry_starlettes_headers(
    body: bytes, committed: bool, media: str, extra: dict[str, str], headers: dict[str, str]
) -> None:
    """The header list view_answer builds is the one ``Response(...)`` would build."""
    tag = '"t"'
    sent = {k: v.replace("TAG", tag) for k, v in headers.items()}
    request = ViewRequest(
        {"headers": [(k.encode(), v.encode()) for k, v in sent.items()], "path_params": {}}
    )
    answer = view_answer(request, body, media, committed=committed, etag=tag, headers=extra)
    if answer.status_code == 416:
        return  # a JSONResponse, built by Starlette itself
    named = {k.decode(): v.decode() for k, v in answer.raw_headers}
    mine = {k: v for k, v in named.items() if k not in ("content-length", "content-type")}
    reference = _starlette(answer.status_code, bytes(answer.body), media, mine)
    assert answer.raw_headers == reference.raw_headers
    assert bytes(answer.body) == bytes(reference.body) or answer.status_code == 304
