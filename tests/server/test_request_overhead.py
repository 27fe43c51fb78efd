"""The server's per-request shortcuts change no answer.

* ``PrefixRouter`` (top level and each datatype's router) picks the route Starlette's own
  router picks: every route's path, its trailing-slash variant, other methods and unknown
  paths get the same status, ``Allow`` and body through an app routed each way.
* Node and instance records decoded once per distinct stored bytes
  (``voxhub.versioning.decoded``): a record changed by another process sharing the store
  (here a second hub and app on one LMDB store, as two server workers) is seen by the next
  request, whatever this process read before; so is a changed image config (parsed
  configs are kept per record object, ``imageblk.config.instance_config``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import anyio
import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import Route, Router

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from tests.server.asgi_call import Answer, acall

from voxhub.client import EmbeddedHub
from voxhub.datatypes.registry import datatype_for
from voxhub.server import create_app
from voxhub.server import dispatch as dispatch_module
from voxhub.server.dispatch import INSTANCE_PREFIX, InstanceDispatcher
from voxhub.versioning.decoded import MAX_RECORD_BYTES, DecodedRecords

_PARAM = re.compile(r"{([a-zA-Z_]\w*)(:\w+)?}")
_VOLATILE = ("/api/server/", "/metrics", "/api/load")


def _fill(path: str, uuid: str, name: str) -> str:
    values = {"uuid": uuid, "name": name, "dims": "0_1_2", "size": "8_8_8", "offset": "0_0_0"}
    return _PARAM.sub(lambda m: values.get(m.group(1), "x1"), path)


def _paths(app_routes: list[Route], uuid: str, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(method, path) pairs: every route filled in, with and without a trailing slash,
    in its methods and in ones it lacks (never a write it accepts: both apps share state)."""
    accepted: dict[str, set[str]] = {}
    for route in app_routes:
        accepted.setdefault(route.path, set()).update(route.methods or {"GET"})
    out: list[tuple[str, str]] = []
    for route in app_routes:
        methods = accepted[route.path]
        tried = {"GET", "PATCH"} | ({"POST", "DELETE"} - methods)
        for name in names:
            path = _fill(route.path, uuid, name)
            out += [(m, path) for m in sorted(tried)]
            out.append(("GET", path.rstrip("/") if path.endswith("/") else path + "/"))
    out += [("GET", p) for p in ("/", "/x", "/api", "/api/", "/api/nope", "//api/node")]
    return out


@pytest.fixture
def hub() -> Iterator[EmbeddedHub]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("r", "").master
    node.create_volume("gray", "uint8", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = 7
    node.create_labels("seg", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = np.uint64(5)
    yield hub
    hub.close()


def _seen(answer: Answer, path: str) -> tuple[object, ...]:
    body = b"" if any(v in path for v in _VOLATILE) else answer.body
    return answer.status, answer.headers.get("allow"), answer.headers.get("location"), body


def test_prefix_router_routes_as_starlette_does(
    hub: EmbeddedHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, plain = create_app(hub), create_app(hub)
    plain.router = Router(plain.router.routes)
    uuid = hub.repos()[0].master.uuid
    top = [r for r in fast.routes if isinstance(r, Route)]
    dispatcher = InstanceDispatcher.__new__(InstanceDispatcher)  # only for router_for
    pairs = _paths(top, uuid, ("gray", "nothing"))
    for datatype, name in (("uint8blk", "gray"), ("labelmap", "seg")):
        router = dispatcher_init(dispatcher).router_for(datatype_for(datatype))
        inner = [
            Route(INSTANCE_PREFIX + r.path, endpoint=lambda _: None, methods=r.methods)
            for r in router.routes
            if isinstance(r, Route)
        ]
        pairs += _paths(inner, uuid, (name,))
    assert len(pairs) > 500, len(pairs)

    async def run() -> None:
        for method, path in pairs:
            got = await acall(fast, method, path)  # builds fast's datatype routers unpatched
            with monkeypatch.context() as patch:
                patch.setattr(dispatch_module, "PrefixRouter", Router)
                want = await acall(plain, method, path)
            assert _seen(got, path) == _seen(want, path), (method, path)

    anyio.run(run)


def dispatcher_init(dispatcher: InstanceDispatcher) -> InstanceDispatcher:
    dispatcher._routers = {}
    return dispatcher


def test_record_changes_by_another_worker_are_seen(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient],
) -> None:
    hub, ca, cb = two_workers
    node = hub.create_repo("r", "").master
    node.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    base = f"/api/node/{node.uuid}/gray"
    block = np.full((8, 8, 8), 3, np.uint8).tobytes()
    for tags in ({"a": "1"}, {"a": "2", "b": "x"}, {}, {"a": "1"}):  # back to earlier bytes too
        assert cb.get(f"{base}/tags").status_code == 200  # b has decoded the old record
        ca.post(f"{base}/tags?replace=true", json=tags).raise_for_status()
        assert cb.get(f"{base}/tags").json() == {"Tags": tags}
    # the config: b's parsed config (kept per record object) follows the new record
    for size in ([4.0, 4.0, 40.0], [1.0, 1.0, 1.0]):
        assert cb.get(f"{base}/info").status_code == 200
        hub.catalog.update_instance_config(
            node.uuid, "gray", lambda c, s=size: {**c, "voxel_size": s}
        )
        assert cb.get(f"{base}/info").json()["Extended"]["VoxelSize"] == size[::-1]
    # the node: b writes while it is open, a commits, b's next write is refused
    assert cb.post(f"{base}/raw/0_1_2/8_8_8/0_0_0", content=block).status_code == 200
    ca.post(f"/api/node/{node.uuid}/commit", json={}).raise_for_status()
    assert cb.post(f"{base}/raw/0_1_2/8_8_8/0_0_0", content=block).status_code in (400, 403, 409)
    assert cb.get(f"/api/node/{node.uuid}/commit").status_code in (200, 405)  # no 500
    assert cb.get(f"{base}/info").status_code == 200


def test_decoded_records_are_kept_per_exact_bytes() -> None:
    calls: list[bytes] = []

    def decode(raw: bytes) -> dict[str, int]:
        calls.append(raw)
        return {"n": len(raw)}

    records = DecodedRecords("test_decoded", decode)
    first = records(b'{"a":1}')
    assert records(bytearray(b'{"a":1}')) is first
    assert len(calls) == 1
    assert records(b'{"a":2}') is not first
    assert len(calls) == 2
    big = b" " * (MAX_RECORD_BYTES + 1)
    records(big)
    records(big)
    assert len(calls) == 4  # too large to keep: decoded each time
