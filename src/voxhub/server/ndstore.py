"""ndstore (Open Connectome) cutout URLs over voxhub image instances.

Grammar (also under ``/sd/``, ``/nd/ca/`` and ``/nd/sd/``, as ndstore mounted it)::

    GET  /ca/{token}/{channel}/{fmt}/{res}/{x0,x1}/{y0,y1}/{z0,z1}/   fmt: npz hdf5 raw tiff blosc
    GET  /ca/{token}/{channel}/xy/{res}/{x0,x1}/{y0,y1}/{z}/          PNG slices
    GET  /ca/{token}/{channel}/xz/{res}/{x0,x1}/{y}/{z0,z1}/
    GET  /ca/{token}/{channel}/yz/{res}/{x}/{y0,y1}/{z0,z1}/
    POST /ca/{token}/{channel}/{fmt}/0/{x0,x1}/{y0,y1}/{z0,z1}/       fmt: npz blosc hdf5

* **token** = ``<repo alias or root UUID (prefix)>[:<branch>]``: the leaf of that branch
  of that repo, ``master`` by default. ``demo`` and ``demo:master`` read master's leaf,
  ``demo:proofread`` the leaf of branch ``proofread``.
* **channel** = the name of an image instance of the repo.
* **res** = the pyramid level (``scale``); coordinates are voxels of that level.
* Ranges are half-open. A read must lie inside the channel's extents at ``res``; anything
  else is refused (400) with the bounds in the message, as ndstore did (no clipping).
* Arrays are ``[channel, z, y, x]`` with one channel: ``npz`` is zlib-compressed
  ``numpy.save`` bytes, ``blosc`` is ``blosc.pack_array`` of the array (``product/blosc``,
  what ndio and tilecache read with ``blosc.unpack_array``), ``hdf5`` holds group
  ``{channel}`` with datasets ``CUTOUT`` (gzip, ``z, y, x``), ``CHANNELTYPE`` and
  ``DATATYPE``, ``raw`` is bare C-order bytes, ``tiff`` a multipage TIFF (one page per z).
* Slices are PNGs at full bit depth (uint8 or uint16), not resized for anisotropy and not
  windowed; other dtypes are refused, use ``tiff``.

POST bodies hold an array of shape ``[1, z, y, x]`` (or ``[z, y, x]``) of the channel's
dtype, else the request is refused with ndstore's "mismatched dimensions" or "Wrong
datatype in POST":

* ``npz``: as above, inflated no further than the box needs;
* ``blosc``: ``blosc.pack_array(array)`` as ndio sends it, or one blosc buffer of bare
  C-order voxels (BossDB's ``application/blosc``), told apart by the uncompressed size.
  ``pack_array`` is a compressed *pickle*, and unpickling runs any callable the pickle
  names, so client bytes never reach ``pickle.loads``/``blosc.unpack_array``: the size in
  the blosc header is bounded by the box before decompressing, and a restricted unpickler
  that resolves only the numpy names of a plain numeric ndarray rebuilds it
  (:mod:`voxhub.datatypes.wire.ndstore_bodies` has the details);
* ``hdf5``: dataset ``/{channel}/CUTOUT``, checked against ``/{channel}/DATATYPE`` when
  present; links out of the body and external or virtual storage are refused.

Writes go to scale 0 and need not lie inside the extents (a write grows them). Unlike
ndstore, zeros in the posted array are written too (ndstore could not erase data).

**Labelmap channels** (ndstore's annotation channels) take the same cutout, slice and POST
URLs, plus (:mod:`voxhub.datatypes.labelmap.routes_ndstore` has the details)::

    GET /ca/{token}/{channel}/id/{res}/{x}/{y}/{z}/                  body id at a voxel
    GET /ca/{token}/{channel}/ids/{res}/{x0,x1}/{y0,y1}/{z0,z1}/     ids in a box
    GET /ca/{token}/{channel}/{id}/boundingbox/{res}/                HDF5 XYZOFFSET, XYZDIMENSION
    GET /v1/boundingbox/{coll}/{exp}/{channel}/{res}/{id}/?type=loose|tight   BossDB JSON

For BossDB's URL, ``coll`` is the repo and ``exp`` the branch (``{coll}:{exp}`` as a token).

This module owns the URL grammar and the token; what a channel does is its datatype's:
the registry hook ``Datatype.ndstore`` opens an
:class:`~voxhub.datatypes.wire.ndstore_face.NdstoreChannel` (images in
:mod:`voxhub.datatypes.imageblk.routes_ndstore`, labelmaps in
:mod:`voxhub.datatypes.labelmap.routes_ndstore`). A datatype without the hook is refused.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.api import JSON, OCTET, Api, ApiRoute, Param
from voxhub.datatypes.wire.audit import logged
from voxhub.datatypes.wire.budget import admit
from voxhub.datatypes.wire.ndstore_face import BBOX_TYPES, NdstoreChannel, parse_label
from voxhub.datatypes.wire.url_geometry import ndstore_box, ndstore_coord, ndstore_range
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Box
from voxhub.server.context import Binder, ServerContext
from voxhub.versioning.catalog import Catalog

CUTOUT_FORMATS = ("npz", "hdf5", "blosc", "raw", "tiff")
SLICE_FORMATS = ("xy", "xz", "yz")
ID_SERVICES = ("id", "ids")
PREFIXES = ("/ca", "/sd", "/nd/ca", "/nd/sd")
POST_FORMATS = ("npz", "blosc", "hdf5")


def resolve_token(catalog: Catalog, token: str) -> str:
    """The node UUID a token names: the leaf of ``branch`` in the repo (see module doc)."""
    ref, _, branch = token.partition(":")
    branch = branch or "master"
    repos = [r for r in catalog.repos() if ref and (r.alias == ref or r.root.startswith(ref))]
    if not repos:
        raise NotFound(f"token {token!r}: no repo with alias or root UUID {ref!r}")
    if len(repos) > 1:
        raise InvalidRequest(f"token {token!r}: {ref!r} names {len(repos)} repos")
    return catalog.node(f"{repos[0].root}:{branch}").uuid


def open_channel(ctx: ServerContext, token: str, channel: str) -> NdstoreChannel:
    """The channel a token and channel name address, opened by its datatype (blocking)."""
    catalog = ctx.service.catalog
    uuid = resolve_token(catalog, token)
    info = catalog.instance(uuid, channel)
    opener = datatype_for(info.typename).ndstore
    if opener is None:
        raise InvalidRequest(
            f"channel {info.name!r} is a {info.typename}, which ndstore URLs do not serve"
        )
    return opener()(ctx.service, uuid, info, ctx.settings.max_request_bytes)


def _box(fmt: str, params: dict[str, Any]) -> Box:
    x, y, z = params["x"], params["y"], params["z"]
    if fmt in ("xy", "id"):
        zz = ndstore_coord(z, "z")
        if fmt == "xy":
            return ndstore_box(ndstore_range(x, "x"), ndstore_range(y, "y"), zz)
        return ndstore_box(ndstore_coord(x, "x"), ndstore_coord(y, "y"), zz)
    if fmt == "xz":
        return ndstore_box(ndstore_range(x, "x"), ndstore_coord(y, "y"), ndstore_range(z, "z"))
    if fmt == "yz":
        return ndstore_box(ndstore_coord(x, "x"), ndstore_range(y, "y"), ndstore_range(z, "z"))
    return ndstore_box(ndstore_range(x, "x"), ndstore_range(y, "y"), ndstore_range(z, "z"))


def _format(request: Request) -> str:
    fmt = str(request.path_params["fmt"]).lower()
    if fmt not in CUTOUT_FORMATS + SLICE_FORMATS + ID_SERVICES:
        raise InvalidRequest(
            f"format {fmt!r} is not one of {', '.join(CUTOUT_FORMATS + SLICE_FORMATS)} "
            f"(or {', '.join(ID_SERVICES)} on labelmap channels)"
        )
    return fmt


async def cutout(request: Request, ctx: ServerContext) -> Response:
    """``GET``: a cutout, slice or id service; ``POST``: write an npz, blosc or hdf5 body."""
    fmt = _format(request)
    box = _box(fmt, dict(request.path_params))
    if request.method == "POST":
        return await _post(request, ctx, fmt, box)
    params = request.path_params
    limit = ctx.settings.max_request_bytes
    admit(request, box.size, "cutout")  # at least a byte a voxel; the channel checks more

    if fmt in ID_SERVICES:

        def ids() -> str:
            channel = open_channel(ctx, params["token"], params["channel"])
            res = channel.resolution(params["res"])
            if fmt == "id":
                return channel.voxel_id(box, res, limit)
            return channel.ids(box, res, limit)

        return Response(await run_in_threadpool(ids), media_type="text/plain")

    def read() -> tuple[bytes, str]:
        channel = open_channel(ctx, params["token"], params["channel"])
        return channel.read(fmt, box, channel.resolution(params["res"]), limit)

    body, media_type = await run_in_threadpool(read)
    headers = {"Content-Disposition": "attachment; filename=cutout.h5"} if fmt == "hdf5" else None
    return Response(body, media_type=media_type, headers=headers)


async def _post(request: Request, ctx: ServerContext, fmt: str, box: Box) -> Response:
    if fmt not in POST_FORMATS:
        raise InvalidRequest(f"POST takes {', '.join(POST_FORMATS)} bodies, not {fmt!r}")
    if request.path_params["res"] != "0":
        raise InvalidRequest("resolution: writes go to resolution 0; the pyramid is derived")
    limit = ctx.settings.max_request_bytes
    params = request.path_params

    def open_writable() -> NdstoreChannel:
        channel = open_channel(ctx, params["token"], params["channel"])
        channel.check_write(box, limit)  # before the body is read
        return channel

    channel = await run_in_threadpool(open_writable)
    admit(request, box.size, "write")
    body = await bodies.read_body(request, limit)
    await run_in_threadpool(channel.write, fmt, body, box, limit)
    return Response(b"")


async def boundingbox(request: Request, ctx: ServerContext) -> Response:
    """ndstore's ``{id}/boundingbox/{res}/``: the tight box as RAMON HDF5."""
    params = request.path_params
    label = parse_label(params["label"])

    def run() -> bytes:
        channel = open_channel(ctx, params["token"], params["channel"])
        return channel.bbox_hdf5(label, channel.resolution(params["res"]))

    return Response(await run_in_threadpool(run), media_type="product/hdf5")


async def bossdb_boundingbox(request: Request, ctx: ServerContext) -> Response:
    """BossDB's ``/v1/boundingbox/…/{res}/{id}/?type=loose|tight`` JSON."""
    params = request.path_params
    label = parse_label(params["label"])
    kind = request.query_params.get("type", "loose")
    if kind not in BBOX_TYPES:
        raise InvalidRequest(f"bounding box type {kind!r} is not one of {', '.join(BBOX_TYPES)}")

    def run() -> dict[str, Any]:
        token = f"{params['coll']}:{params['exp']}"
        channel = open_channel(ctx, token, params["channel"])
        return channel.bossdb_bbox(label, channel.resolution(params["res"]), kind)

    return JSONResponse(await run_in_threadpool(run))


def _both(path: str, endpoint: Any, methods: list[str], api: Api) -> list[BaseRoute]:
    """``path`` with and without its trailing slash (clients wrote both)."""
    return [
        ApiRoute(path + "/", endpoint, methods=methods, api=api),
        ApiRoute(path, endpoint, methods=methods, api=api),
    ]


def ndstore_routes(bind: Binder) -> list[BaseRoute]:
    """Cutout, id and bounding-box routes with absolute paths (``/ca/...``, its ndstore
    aliases and BossDB's ``/v1/boundingbox/...``)."""
    routes: list[BaseRoute] = []
    arrays = ("product/npz", "product/blosc", "product/hdf5", "product/raw", "image/tiff")
    read = Api(answers=(*arrays, "image/png", JSON))
    write = Api(body=(OCTET, *arrays[:3]), body_required=True, answers=())
    for prefix in PREFIXES:
        cut = prefix + "/{token}/{channel}/{fmt}/{res}/{x}/{y}/{z}"
        routes += _both(cut, bind(cutout), ["GET"], read)
        routes += _both(cut, bind(logged(cutout)), ["POST"], write)
        bbox = prefix + "/{token}/{channel}/{label}/boundingbox/{res}"
        routes += _both(bbox, bind(boundingbox), ["GET"], Api(answers=("product/hdf5",)))
    boss = "/v1/boundingbox/{coll}/{exp}/{channel}/{res}/{label}"
    kind = Param("type", {"enum": list(BBOX_TYPES)}, "loose (block-aligned) or tight")
    routes += _both(boss, bind(bossdb_boundingbox), ["GET"], Api(query=(kind,)))
    return routes
