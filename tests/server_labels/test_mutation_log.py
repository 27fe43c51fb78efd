"""Every mutation over HTTP adds its ``u=``/``app=`` line to the node log (README: HTTP
service), in the transaction of the write; a refused one adds nothing; every mutating
route of every datatype and of the ndstore face is logged."""

from __future__ import annotations

import gzip
import io
import zlib

import numpy as np
from starlette.routing import BaseRoute

from voxhub.datatypes.labelmap.native_block import encode_native
from voxhub.datatypes.labelmap.rle import encode_rles, runs_from_mask
from voxhub.datatypes.registry import datatype_for, typenames
from voxhub.datatypes.wire.audit import LOGS_MUTATIONS, READ_METHODS
from voxhub.datatypes.wire.block_stream import encode_stream

from .conftest import SEG, Env


def _log(env: Env, node: str | None = None) -> list[str]:
    r = env.client.get(f"/api/node/{node or env.node.uuid}/log")
    assert r.status_code == 200, r.text
    return list(r.json()["log"])


def _post(env: Env, rest: str, *, expect: int = 200, **kwargs: object) -> str:
    """POST ``rest`` as user ``ann`` of app ``tool``; the log line it added (if 200)."""
    before = _log(env)
    sep = "&" if "?" in rest else "?"
    r = env.client.post(env.url(f"{rest}{sep}u=ann&app=tool"), **kwargs)  # type: ignore[arg-type]
    assert r.status_code == expect, (rest, r.text)
    after = _log(env)
    if expect != 200:
        assert after == before, rest
        return ""
    assert after[: len(before)] == before, rest
    assert len(after) == len(before) + 1, (rest, after)
    return after[-1]


def test_label_mutations_are_logged_with_user_and_app(env: Env) -> None:
    raw = np.full((16, 16, 16), 7, np.uint64).tobytes()
    line = _post(env, "raw/0_1_2/16_16_16/0_0_16", content=raw)
    assert line.endswith(" u=ann app=tool: POST seg/raw/0_1_2/16_16_16/0_0_16"), line
    block = np.full((16, 16, 16), 8, np.uint64)
    stream = encode_stream([((0, 0, 2), gzip.compress(encode_native(block)))])
    assert _post(env, "blocks", content=stream).endswith("POST seg/blocks")
    assert _post(env, "merge", json=[1, 2]).endswith("POST seg/merge")
    assert _post(env, "cleave/1", json=[2]).endswith("POST seg/cleave/1")
    cut = np.zeros(SEG.shape, bool)
    cut[:, :, :4] = True
    rles = encode_rles(runs_from_mask(cut))
    assert _post(env, "split-supervoxel/1", content=rles).endswith("split-supervoxel/1")
    cut2 = np.zeros(SEG.shape, bool)
    cut2[:, :, 20:24] = True
    assert _post(env, "split/3", content=encode_rles(runs_from_mask(cut2))).endswith("split/3")
    assert _post(env, "renumber", json=[500, 3]).endswith("POST seg/renumber")
    assert _post(env, "nextlabel/5").endswith("POST seg/nextlabel/5")
    # refusals log nothing (the helper checks the log is unchanged)
    _post(env, "merge", json=[1, 99], expect=400)
    _post(env, "raw/0_1_2/16_16_16/0_0_0", content=b"short", expect=400)


def test_log_interleaves_catalog_and_mutation_lines_in_order(env: Env) -> None:
    c, uuid = env.client, env.node.uuid
    assert c.post(f"/api/node/{uuid}/log?u=ann", json={"log": ["first"]}).status_code == 200
    _post(env, "merge", json=[1, 2])
    log = _log(env)
    assert log[-2].endswith("u=ann: first")
    assert log[-1].endswith("POST seg/merge")
    assert env.node.log_lines == log  # the numpy API reads the same log


def test_image_and_ndstore_writes_are_logged(env: Env) -> None:
    env.node.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    before = len(_log(env))
    url = f"/api/node/{env.node.uuid}/gray/raw/0_1_2/8_8_8/0_0_0?u=bob&app=ingest"
    assert env.client.post(url, content=bytes(512)).status_code == 200
    buf = io.BytesIO()
    np.save(buf, np.ones((1, 2, 2, 2), np.uint8))  # ndstore's npz: a zlib'd .npy
    assert (
        env.client.post(
            "/ca/demo/gray/npz/0/0,2/0,2/0,2/?u=bob", content=zlib.compress(buf.getvalue())
        ).status_code
        == 200
    )
    log = _log(env)[before:]
    assert len(log) == 2, log
    assert log[0].endswith("u=bob app=ingest: POST gray/raw/0_1_2/8_8_8/0_0_0")
    assert log[1].endswith("u=bob: POST /ca/demo/gray/npz/0/0,2/0,2/0,2/")


def test_write_at_a_committed_node_is_refused_and_not_logged(env: Env) -> None:
    uuid = env.node.uuid
    assert env.client.post(f"/api/node/{uuid}/commit", json={}).status_code == 200
    _post(env, "merge", json=[1, 2], expect=409)


def _mutating(routes: list[BaseRoute]) -> list[BaseRoute]:
    return [
        r for r in routes if not READ_METHODS.issuperset(getattr(r, "methods", None) or {"GET"})
    ]


def test_every_mutating_route_logs(env: Env) -> None:
    """Walk each datatype's instance routes and the ndstore face: a route that may write
    and is not marked as logging fails here (``instance_route`` marks them itself)."""
    unlogged = []
    for dt in {datatype_for(t).name: datatype_for(t) for t in typenames()}.values():
        if dt.routes is None:
            continue
        for route in _mutating(list(dt.routes())):
            if not getattr(getattr(route, "endpoint", None), LOGS_MUTATIONS, False):
                unlogged.append(f"{dt.name} {route.path}")  # type: ignore[attr-defined]
    app_routes = list(env.client.app.routes)  # type: ignore[attr-defined]
    data_routes = [
        r
        for r in _mutating(app_routes)
        if getattr(r, "path", "").startswith(("/ca/", "/sd/", "/nd/"))
    ]
    assert data_routes, "the ndstore POST routes were not found"
    for route in data_routes:
        if not getattr(getattr(route, "endpoint", None), LOGS_MUTATIONS, False):
            unlogged.append(route.path)  # type: ignore[attr-defined]
    assert unlogged == []
