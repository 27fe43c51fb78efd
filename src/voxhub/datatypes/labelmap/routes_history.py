"""labelmap mutation history over HTTP: ``mutations``, ``mutations-range``, ``history``
and ``supervoxel-splits`` (see :mod:`.history` and :mod:`.mutlog` for the shapes).

The version arguments of ``mutations-range`` and ``history`` name nodes of the repo the
URL's node belongs to (another repo's are a 400: the caller was authorised for this one).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.datatypes.labelmap.routes import open_labels, path_label
from voxhub.datatypes.wire.api import Api, Param
from voxhub.datatypes.wire.context import InstanceContext, instance_route


async def get_mutations(request: Request, ctx: InstanceContext) -> Response:
    """This node's mutation records (not its ancestors'), oldest first, as DVID logs them.

    ``[{"Action": "merge-complete", "UUID", "MutationID", "Timestamp", ...}]``;
    ``?userid=`` keeps one user's records."""
    user = request.query_params.get("userid")
    # a proofread node holds thousands of records: not a small read for the event loop
    records = await run_in_threadpool(lambda: open_labels(ctx).mutations(user))
    return JSONResponse(records)


async def get_mutations_range(request: Request, ctx: InstanceContext) -> Response:
    """The mutation records of versions {end} back to {beg}, along first parents.

    Both included, {end}'s records first, then its parent's... (DVID's order); 400 if
    {beg} is not {end} or a first-parent ancestor of it."""
    beg, end = request.path_params["beg"], request.path_params["end"]
    return JSONResponse(await run_in_threadpool(lambda: open_labels(ctx).mutations_range(beg, end)))


async def get_history(request: Request, ctx: InstanceContext) -> Response:
    """The merges, cleaves and splits from version {from} to {to} that made body {label}.

    A JSON list, oldest first, each in DVID's short form (``{"Action": "merge", "Target",
    "Labels"}``, ``cleave``, ``split``, ``split-supervoxel``).

    400 if {from} is not {to} or a first-parent ancestor of it; 404 if {label} has no
    voxels at {to}. (DVID writes the objects back to back, not as a list.)"""
    label = path_label(request)
    old, new = request.path_params["from"], request.path_params["to"]
    return JSONResponse(await run_in_threadpool(lambda: open_labels(ctx).history(label, old, new)))


async def get_supervoxel_splits(request: Request, ctx: InstanceContext) -> Response:
    """Supervoxel splits of this version and its first-parent ancestors, nearest first.

    ``["uuid", [[mutid, old, remain, split], ...], "parent uuid", [...], ...]``, only
    versions that split a supervoxel; a body split counts each supervoxel it cut."""
    return JSONResponse(await run_in_threadpool(lambda: open_labels(ctx).supervoxel_splits()))


def history_routes() -> list[Any]:
    """The routes of this module, paths relative to ``/api/node/{uuid}/{name}``."""
    get = ["GET"]
    # ?userid= is the records' author, not the caller's u=
    by_user = Api(query=(Param("userid", {"type": "string"}, "only this user's records"),))
    return [
        instance_route("/mutations", get_mutations, methods=get, api=by_user),
        instance_route("/mutations-range/{beg}/{end}", get_mutations_range, methods=get),
        instance_route("/history/{label}/{from}/{to}", get_history, methods=get),
        instance_route("/supervoxel-splits", get_supervoxel_splits, methods=get),
    ]
