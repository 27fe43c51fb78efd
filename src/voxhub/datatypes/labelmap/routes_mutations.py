"""labelmap mutations over HTTP: nextlabel reservations, POST maxlabel, merge, cleave,
split-supervoxel, split and renumber (see :mod:`.routes`).

Each runs in the thread pool, records DVID's ``u=``/``app=`` as the mutation's user and
app, and changes nothing when refused. A label with no voxels is a 400 here, as in DVID
(the engine's "not found" is a 404 on read paths only). A committed node is 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.datatypes.labelmap import rle
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.routes import (
    id_list,
    json_request,
    open_labels,
    parse_id,
    path_label,
    who,
)
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.context import InstanceContext
from voxhub.datatypes.wire.numbers import UINT64_MAX, parse_int
from voxhub.errors import InvalidRequest, NotFound

T = TypeVar("T")


async def _mutate(ctx: InstanceContext, fn: Callable[[LabelInstance], T]) -> T:
    """``fn(instance)`` in the thread pool; an unknown label becomes DVID's 400."""

    def run() -> T:
        try:
            return fn(open_labels(ctx))
        except NotFound as e:
            raise InvalidRequest(str(e)) from None

    return await run_in_threadpool(run)


async def _runs(request: Request, ctx: InstanceContext, what: str) -> Any:
    """The ``rles`` body of a split (DVID's 12-byte header, then x, y, z, length spans)."""
    runs = rle.decode_rles(await bodies.read_body(request, ctx.max_request_bytes))
    if not len(runs):
        raise InvalidRequest(f"{what} body holds no runs: nothing to split off")
    return runs


async def post_nextlabel(request: Request, ctx: InstanceContext) -> Response:
    """Reserve {count} fresh label ids: ``{"start": a, "end": b}`` (inclusive).

    Disjoint across callers and branches; maxlabel at this node rises to b (DVID)."""
    text = request.path_params["count"]
    count = parse_int(text, "nextlabel count", 1, UINT64_MAX)

    def run(instance: LabelInstance) -> range:
        instance.view.check_writable()
        return instance.next_labels(count)

    ids = await _mutate(ctx, run)
    return JSONResponse({"start": ids.start, "end": ids.stop - 1})


async def post_maxlabel(request: Request, ctx: InstanceContext) -> Response:
    """Set maxlabel at this node to {label} if that raises it (else nothing changes).

    Later reservations and new bodies get ids above it. 400 for 0 or above 2**48 (as
    DVID); needs write access to the repo (DVID: admin)."""
    label = path_label(request)

    await _mutate(ctx, lambda i: i.set_maxlabel(label))
    return Response(b"")


async def post_merge(request: Request, ctx: InstanceContext) -> Response:
    """Merge bodies into a target (body ``[target, from1, ...]``): ``{"MutationID": N}``.

    Supervoxels keep their ids; only the mapping changes."""
    labels = id_list(await json_request(request, ctx, "merge"), "merge")
    if len(labels) < 2:
        raise InvalidRequest("merge body must be [target, from1, ...] with at least one label")
    target, sources = labels[0], labels[1:]
    author = who(ctx)
    mid = await _mutate(ctx, lambda i: i.merge(target, sources, author))
    return JSONResponse({"MutationID": mid})


async def post_cleave(request: Request, ctx: InstanceContext) -> Response:
    """Move the supervoxels ``[sv1, ...]`` to a new body: ``{"CleavedLabel", "MutationID"}``.

    400 if that would empty the body."""
    label = path_label(request)
    svs = id_list(await json_request(request, ctx, "cleave"), "cleave")
    author = who(ctx)
    new, mid = await _mutate(ctx, lambda i: i.cleave(label, svs, author))
    return JSONResponse({"CleavedLabel": new, "MutationID": mid})


async def post_split_supervoxel(request: Request, ctx: InstanceContext) -> Response:
    """Split a supervoxel by an rles body: ``{"SplitSupervoxel", "RemainSupervoxel", ...}``.

    Its voxels inside get one new id, the rest another (``?split=``/``?remain=`` choose
    them; 409 if in use); also ``"MutationID"``."""
    sv = path_label(request, what="supervoxel")
    given = [request.query_params.get(name) for name in ("split", "remain")]
    split_id, remain_id = (
        None if text is None else parse_id(text, f"{name} id")
        for text, name in zip(given, ("split", "remain"), strict=True)
    )
    runs = await _runs(request, ctx, "split-supervoxel")
    author = who(ctx)
    split, remain, mid = await _mutate(
        ctx, lambda i: i.split_supervoxel(sv, runs, author, (split_id, remain_id))
    )
    return JSONResponse({"SplitSupervoxel": split, "RemainSupervoxel": remain, "MutationID": mid})


async def post_split(request: Request, ctx: InstanceContext) -> Response:
    """Move the body's voxels inside an rles body to a new body: ``{"label", "MutationID"}``.

    Cut supervoxels are split in two. Always enabled in voxhub."""
    label = path_label(request)
    runs = await _runs(request, ctx, "split")
    author = who(ctx)
    new, mid = await _mutate(ctx, lambda i: i.split(label, runs, author))
    return JSONResponse({"label": new, "MutationID": mid})


async def post_renumber(request: Request, ctx: InstanceContext) -> Response:
    """Give bodies new ids, body ``[new1, old1, new2, old2, ...]``: all pairs or none.

    Pair after pair; like DVID, each pair is a mutation and a ``renumber-complete``
    record. ``{"MutationID": last, "MutationIDs": [one per pair]}`` (DVID: nothing)."""
    labels = id_list(await json_request(request, ctx, "renumber"), "renumber")
    if not labels or len(labels) % 2:
        raise InvalidRequest(
            f"renumber body must be a non-empty even-length list [new1, old1, ...], "
            f"got {len(labels)} labels"
        )
    pairs = [(labels[i], labels[i + 1]) for i in range(0, len(labels), 2)]
    author = who(ctx)
    ids = await _mutate(ctx, lambda i: i.renumber(pairs, author))
    return JSONResponse({"MutationID": ids[-1], "MutationIDs": ids})
