"""labelmap mutation history over HTTP: ``mutations``, ``mutations-range``, ``history``
and ``supervoxel-splits`` (see :mod:`.history` and :mod:`.mutlog` for the shapes).

The version arguments of ``mutations-range`` and ``history`` name nodes of the repo the
URL's node belongs to (another repo's are a 400: the caller was authorised for this one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.datatypes.labelmap import history
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.opening import open_label_instance
from voxhub.datatypes.labelmap.routes import open_labels, path_label
from voxhub.datatypes.wire.api import Api, Param
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest
from voxhub.versioning.dag import NodeInfo


def _opener(ctx: InstanceContext) -> Callable[[str], LabelInstance]:
    """Opens the request's instance at another node of its repo."""

    def open_at(uuid: str) -> LabelInstance:
        return open_label_instance(ctx.access, uuid, ctx.instance)

    return open_at


def _node(ctx: InstanceContext, ref: str) -> NodeInfo:
    """The node ``ref`` names, which must be a version of the URL's repo."""
    catalog = ctx.access.catalog
    node = catalog.node(ref)
    if node.repo != catalog.node(ctx.node_uuid).repo:
        raise InvalidRequest(f"version {ref!r} is not in the repo of {ctx.node_uuid}")
    return node


async def get_mutations(request: Request, ctx: InstanceContext) -> Response:
    """This node's mutation records (not its ancestors'), oldest first, as DVID logs them.

    ``[{"Action": "merge-complete", "UUID", "MutationID", "Timestamp", ...}]``;
    ``?userid=`` keeps one user's records."""
    user = request.query_params.get("userid")
    records = await small_read(ctx, lambda: open_labels(ctx).mutations(user))
    return JSONResponse(records)


async def get_mutations_range(request: Request, ctx: InstanceContext) -> Response:
    """The mutation records of versions {end} back to {beg}, along first parents.

    Both included, {end}'s records first, then its parent's... (DVID's order); 400 if
    {beg} is not {end} or a first-parent ancestor of it."""

    def run() -> list[dict[str, Any]]:
        lookup = ctx.access.catalog.node
        beg, end = _node(ctx, request.path_params["beg"]), _node(ctx, request.path_params["end"])
        return history.range_records(history.sequence(beg, end, lookup), _opener(ctx))

    return JSONResponse(await run_in_threadpool(run))


async def get_history(request: Request, ctx: InstanceContext) -> Response:
    """The merges, cleaves and splits from version {from} to {to} that made body {label}.

    A JSON list, oldest first, each in DVID's short form (``{"Action": "merge", "Target",
    "Labels"}``, ``cleave``, ``split``, ``split-supervoxel``).

    400 if {from} is not {to} or a first-parent ancestor of it; 404 if {label} has no
    voxels at {to}. (DVID writes the objects back to back, not as a list.)"""
    label = path_label(request)

    def run() -> list[dict[str, Any]]:
        lookup, open_at = ctx.access.catalog.node, _opener(ctx)
        old, new = _node(ctx, request.path_params["from"]), _node(ctx, request.path_params["to"])
        nodes = history.sequence(old, new, lookup)[::-1]
        records = history.range_records(nodes, open_at)
        return history.label_history(label, open_at(old.uuid), open_at(new.uuid), records)

    return JSONResponse(await run_in_threadpool(run))


async def get_supervoxel_splits(request: Request, ctx: InstanceContext) -> Response:
    """Supervoxel splits of this version and its first-parent ancestors, nearest first.

    ``["uuid", [[mutid, old, remain, split], ...], "parent uuid", [...], ...]``, only
    versions that split a supervoxel; a body split counts each supervoxel it cut."""

    def run() -> list[Any]:
        catalog = ctx.access.catalog
        node = catalog.node(ctx.node_uuid)
        return history.supervoxel_splits(node, catalog.node, _opener(ctx))

    return JSONResponse(await run_in_threadpool(run))


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
