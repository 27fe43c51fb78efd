"""HTTP routes of labelmap instances (DVID's ``labelmap``), relative to the instance.

The server mounts these under ``/api/node/{uuid}/{name}/`` (see
:mod:`voxhub.server.dispatch`); handlers read the node, the instance and the store access
from the typed :class:`~voxhub.datatypes.wire.context.InstanceContext` each handler
receives (``async def handler(request, ctx)``), as image routes do. This module holds the
request helpers and the route table; the handlers live in
:mod:`.routes_voxels` (raw, label(s), block streams), :mod:`.routes_slices` (isotropic,
pseudocolor), :mod:`.routes_labels` (index-backed reads), :mod:`.routes_sparsevol`
(sparsevols at any scale, coarse sparsevols), :mod:`.routes_mutations` (merge, cleave,
splits, renumber, nextlabel), :mod:`.routes_history` (mutations, mutations-range,
history, supervoxel-splits) and :mod:`.routes_index` (label indexes in DVID's protobuf,
mappings and supervoxel ingest).

Statuses follow DVID where it is specific: label 0 on a label path is 400 ("protected
background value"), an unknown label on a read path is 404, ``HEAD sparsevol`` is
200/204. Elsewhere voxhub's error table applies (a committed node is 409, DVID says 400).

What differs from DVID, each on purpose, is listed once, in
:mod:`.dvid_differences` (served by ``/api/help/labelmap``); ``tests/conformance`` holds
the routes to it.
"""

from __future__ import annotations

import reprlib
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.imageblk.config import ImageConfig, instance_config
from voxhub.datatypes.imageblk.routes import scale_param
from voxhub.datatypes.imageblk.routes_resolution import resolution_route
from voxhub.datatypes.labelmap.dvid_info import label_info_json
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.mutations import Who
from voxhub.datatypes.labelmap.opening import StoreHub, counters_for, open_label_instance
from voxhub.datatypes.wire.api import (
    BLOCK_COMPRESSION,
    BLOCKS,
    BODY_COMPRESSION,
    JSON,
    LABEL_LIST,
    POINT,
    ROI,
    SCALE,
    SUPERVOXELS,
    TEXT,
    Api,
    Param,
    flag_param,
    json_api,
)
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.flags import flag
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.numbers import parse_label
from voxhub.datatypes.wire.offload import small_read
from voxhub.datatypes.wire.url_geometry import extents_json
from voxhub.errors import InvalidRequest
from voxhub.versioning.counters import StoreCounters
from voxhub.versioning.records import InstanceInfo

OCTET = "application/octet-stream"
_UINT64 = 2**64
#: DVID's inclusive sparsevol bounds (query parameters)
SPARSEVOL_BOUNDS = ("minx", "maxx", "miny", "maxy", "minz", "maxz")


# -- request context -----------------------------------------------------------------
def counters_of(hub: StoreHub, info: InstanceInfo) -> StoreCounters:
    """The repo-wide label and mutation counters of the instance ``info``."""
    return counters_for(hub.store, info)


def open_labels(ctx: InstanceContext) -> LabelInstance:
    """The labelmap instance a request addresses, at its node (blocking)."""
    return open_label_instance(ctx.access, ctx.node_uuid, ctx.instance)


def config_of(ctx: InstanceContext) -> ImageConfig:
    return instance_config(ctx.instance)


def supervoxels_flag(request: Request) -> bool:
    return flag(request, "supervoxels")


def scale_of(request: Request, config: ImageConfig) -> int:
    """``?scale=`` as a level of this instance's pyramid (0 if absent)."""
    return scale_param(request, config)


def who(ctx: InstanceContext) -> Who:
    """The mutation's user and app, from DVID's ``u=`` and ``app=`` query parameters."""
    return Who(ctx.caller.user, ctx.caller.app)


def parse_id(text: str, what: str = "label") -> int:
    """A uint64 id from a path segment; 0 is refused as DVID's protected background."""
    return parse_label(text, what)


def path_label(request: Request, key: str = "label", what: str = "label") -> int:
    return parse_id(request.path_params[key], what)


def id_list(value: Any, what: str) -> list[int]:
    """A JSON list of uint64 ids (0 allowed; the caller decides what 0 means)."""
    if not isinstance(value, list):
        raise InvalidRequest(f"{what} must be a JSON list of labels, got {type(value).__name__}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < _UINT64:
            raise InvalidRequest(f"{what}: {reprlib.repr(v)} is not an unsigned 64-bit label")
    return list(value)


async def json_request(request: Request, ctx: InstanceContext, what: str) -> Any:
    """The request body (DVID sends it even with GET) parsed as JSON (within the JSON
    size limit, off the event loop when large)."""

    def present(value: Any) -> Any:
        if value is None:
            raise InvalidRequest(f"{what} needs a JSON body")
        return value

    return await read_json(request, f"{what} body", present)


# -- info ------------------------------------------------------------------------------
async def get_info(request: Request, ctx: InstanceContext) -> Response:
    """Instance info: Base, Extended (with MaxLabel, NextLabel, IndexedLabels), Extents."""
    body = await small_read(ctx, lambda: label_info_json(ctx.access, ctx.node_uuid, ctx.instance))
    return JSONResponse(body)


async def get_extents(request: Request, ctx: InstanceContext) -> Response:
    """The extents at ``?scale=`` as ``{"MinPoint", "MaxPoint"}`` (x,y,z, inclusive), or
    ``null`` before anything is written (voxhub; as for image instances)."""
    scale = scale_of(request, config_of(ctx))
    box = await small_read(ctx, lambda: open_labels(ctx).extents(scale))
    return JSONResponse(extents_json(box))


async def post_pyramid(request: Request, ctx: InstanceContext) -> Response:
    """Recompute every label pyramid level from scale 0 (voxhub; 409 when committed)."""
    await run_in_threadpool(lambda: open_labels(ctx).build_pyramid())
    return Response(b"")


def label_routes() -> list[BaseRoute]:
    """The routes of one labelmap instance, paths relative to ``/api/node/{uuid}/{name}``."""
    from voxhub.datatypes.labelmap import routes_history as hist
    from voxhub.datatypes.labelmap import routes_labels as lab
    from voxhub.datatypes.labelmap import routes_mutations as mut
    from voxhub.datatypes.labelmap import routes_slices as sli
    from voxhub.datatypes.labelmap import routes_sparsevol as spv
    from voxhub.datatypes.labelmap import routes_voxels as vox
    from voxhub.datatypes.labelmap.routes_index import index_routes

    get, post, head = ["GET"], ["POST"], ["GET", "HEAD"]
    sv = Api(query=(SUPERVOXELS,))
    scaled_sv = Api(query=(SCALE, SUPERVOXELS))
    raw_out = Param("compression", {"enum": ["raw", "lz4", "gzip", "google", "googlegzip"]})
    raw = Api(query=(SCALE, SUPERVOXELS, raw_out, ROI), answers=(OCTET,))
    write = Api(query=(BODY_COMPRESSION,), body=(OCTET,), body_required=True, answers=())
    stream = Api(query=(SCALE, SUPERVOXELS, BLOCK_COMPRESSION), answers=(OCTET,))
    specific = Api(query=(SCALE, SUPERVOXELS, BLOCK_COMPRESSION, BLOCKS), answers=(OCTET,))
    labels_in = json_api(LABEL_LIST, required=True)
    points = {"type": "array", "items": POINT, "maxItems": 1000}
    labels_at = Api(
        query=(SCALE, SUPERVOXELS, Param("hash", {"type": "string"}, "md5 hex of the body")),
        body=(JSON,),
        body_schema=points,
        body_required=True,
    )
    bounds = tuple(
        Param(n, {"type": "integer"}, "inclusive bound, in voxels of the scale asked for")
        for n in SPARSEVOL_BOUNDS
    )
    sparsevol = Api(
        query=(
            SCALE,
            SUPERVOXELS,
            Param("format", {"enum": ["rles", "srles", "blocks"]}, "runs or binary block masks"),
            Param("compression", {"enum": ["lz4", "gzip"]}, "of rles/srles answers"),
            flag_param("exact", "accepted; voxhub always clips runs to the bounds exactly"),
            *bounds,
        ),
        answers=(OCTET,),
    )
    coarse = Api(query=(SUPERVOXELS, *bounds), answers=(OCTET,))
    rles = Api(body=(OCTET,), body_required=True)
    split_id, remain_id = (Param(n, {"type": "integer", "minimum": 1}) for n in ("split", "remain"))
    mappings = Api(query=(Param("format", {"enum": ["text", "binary"]}),), answers=(TEXT, OCTET))
    listed = Api(
        query=(
            Param("start", {"type": "integer", "minimum": 0}),
            Param("number", {"type": "integer", "minimum": 0}),
            flag_param("sizes"),
        ),
        answers=(OCTET,),
    )
    return [
        instance_route("/info", get_info, methods=get),
        instance_route("/extents", get_extents, methods=get, api=Api(query=(SCALE,))),
        instance_route("/pyramid", post_pyramid, methods=post, api=Api(answers=())),
        resolution_route(),
        instance_route("/raw/{dims}/{size}/{offset}", vox.get_raw, methods=get, api=raw),
        instance_route("/raw/{dims}/{size}/{offset}", vox.post_raw, methods=post, api=write),
        instance_route(
            "/isotropic/{dims}/{size}/{offset}",
            sli.get_isotropic,
            methods=get,
            api=Api(
                query=(SCALE, SUPERVOXELS, Param("compression", {"enum": ["lz4", "gzip"]}), ROI),
                answers=(OCTET,),
            ),
        ),
        instance_route(
            "/pseudocolor/{dims}/{size}/{offset}",
            sli.get_pseudocolor,
            methods=get,
            api=Api(query=(SCALE, ROI), answers=("image/png",)),
        ),
        instance_route("/label/{point}", vox.get_label, methods=get, api=scaled_sv),
        instance_route("/labels", vox.get_labels, methods=get, api=labels_at),
        instance_route("/blocks/{size}/{offset}", vox.get_blocks, methods=get, api=stream),
        instance_route("/specificblocks", vox.get_specificblocks, methods=get, api=specific),
        instance_route("/blocks", vox.post_blocks, methods=post, api=replace(rles, query=(SCALE,))),
        instance_route("/size/{label}", lab.get_size, methods=get, api=sv),
        instance_route("/sizes", lab.get_sizes, methods=get, api=labels_in),
        instance_route("/supervoxels/{label}", lab.get_supervoxels, methods=get),
        instance_route("/supervoxel-sizes/{label}", lab.get_supervoxel_sizes, methods=get),
        instance_route("/lastmod/{label}", lab.get_lastmod, methods=get),
        instance_route("/sparsevol/{label}", spv.get_sparsevol, methods=head, api=sparsevol),
        instance_route("/sparsevol-size/{label}", lab.get_sparsevol_size, methods=get, api=sv),
        instance_route(
            "/sparsevol-coarse/{label}", spv.get_sparsevol_coarse, methods=get, api=coarse
        ),
        instance_route(
            "/sparsevols-coarse/{first}/{last}",
            spv.get_sparsevols_coarse,
            methods=get,
            api=Api(query=bounds, answers=(OCTET,)),
        ),
        instance_route(
            "/sparsevol-by-point/{point}", spv.get_sparsevol_by_point, methods=get, api=sparsevol
        ),
        instance_route("/maxlabel", lab.get_maxlabel, methods=get),
        instance_route("/nextlabel", lab.get_nextlabel, methods=get),
        instance_route(
            "/mapping",
            lab.get_mapping,
            methods=get,
            api=replace(labels_in, query=(flag_param("nolookup"),)),
        ),
        instance_route("/mappings", lab.get_mappings, methods=get, api=mappings),
        instance_route("/listlabels", lab.get_listlabels, methods=get, api=listed),
        *hist.history_routes(),
        *index_routes(),
        instance_route("/nextlabel/{count}", mut.post_nextlabel, methods=post),
        instance_route("/maxlabel/{label}", mut.post_maxlabel, methods=post, api=Api(answers=())),
        instance_route("/merge", mut.post_merge, methods=post, api=labels_in),
        instance_route("/cleave/{label}", mut.post_cleave, methods=post, api=labels_in),
        instance_route(
            "/split-supervoxel/{label}",
            mut.post_split_supervoxel,
            methods=post,
            api=replace(rles, query=(split_id, remain_id)),
        ),
        instance_route("/split/{label}", mut.post_split, methods=post, api=rles),
        instance_route("/renumber", mut.post_renumber, methods=post, api=labels_in),
    ]
