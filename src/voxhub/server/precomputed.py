"""Read-only neuroglancer precomputed views (unsharded) of image and label instances at
any version: ``/precomputed/{node}/{instance}/info`` and
``/precomputed/{node}/{instance}/{scale_key}/{x0}-{x1}_{y0}-{y1}_{z0}-{z1}``, plus
``/precomputed/{node}/{instance}/supervoxels/...`` for labelmaps.

``{node}`` is any node reference the API takes (UUID, unique prefix, ``uuid:branch``,
``:branch~N``). The views are computed from the stored blocks on each request (one chunk
is one stored block: :mod:`voxhub.datatypes.imageblk.precomputed`,
:mod:`voxhub.datatypes.labelmap.precomputed`). An unwritten block is a 404, which
neuroglancer and tensorstore fill with zeros. Answers go through
:func:`~voxhub.server.view_answer.view_answer` (strong ``ETag``, 304, ``Range``) and
:mod:`~voxhub.server.view_encoding` (gzip). A committed node's chunks never change: they
are kept in the process's :class:`~voxhub.server.view_cache.ViewCache`, and are
``Cache-Control: immutable`` when the URL names the node by UUID (a branch reference such
as ``:master~1`` moves to other nodes: revalidated, a cheap 304); an open node's chunks
and every ``info`` (an instance's voxel size is not versioned) are ``no-cache``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.imageblk.config import ImageConfig, instance_config
from voxhub.datatypes.imageblk.precomputed import (
    chunk_block,
    raw_chunk_stored,
    scale_of_key,
    volume_info,
)
from voxhub.datatypes.labelmap.precomputed import cseg_chunk, labels_info
from voxhub.datatypes.meshes import meshes_available
from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.wire.api import JSON, OCTET, Api, ApiRoute
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import NotFound
from voxhub.geometry import Box
from voxhub.server.context import Binder, Handler, ServerContext
from voxhub.server.http import node_ref
from voxhub.server.precomputed_open import open_chunk
from voxhub.server.view_encoding import RAW_GZIP_MIN_RATIO, Encoded, Wire, encode_for, wire_answer
from voxhub.server.view_names import Named, kept
from voxhub.server.view_replay import note_names, note_replayable
from voxhub.server.view_request import HasPath, ViewHandler, ViewRequest, view_route
from voxhub.versioning.catalog import InstanceInfo
from voxhub.versioning.protocols import VersionedReader

BASE = "/precomputed/{uuid}/{instance}"
CHUNK = "{scale_key}/{chunk}"


@dataclass(frozen=True)
class Volume:
    """The instance a request names, at its node."""

    node: str  # its UUID
    info: InstanceInfo
    config: ImageConfig
    labels: bool
    committed: bool
    reader: VersionedReader
    extents: Callable[[int], Box | None]  # of a scale
    pinned: bool = True  # see Named.pinned

    @property
    def immutable(self) -> bool:
        """Whether answers for this URL never change (``Cache-Control: immutable``)."""
        return self.committed and self.pinned


def requested_instance(
    request: HasPath, ctx: ServerContext, *, supervoxels: bool, view: str = "precomputed"
) -> Named:
    """Resolve the node and instance (blocking): 404 unless an image or label instance
    (and a label instance for the supervoxel view); ``view`` names the view in the 404.
    Kept per repo generation (:mod:`voxhub.server.view_names`)."""
    ref, name = node_ref(request.path_params["uuid"]), request.path_params["instance"]

    def resolve() -> Named:
        catalog = ctx.service.catalog
        node = catalog.node(ref)
        info = catalog.instance(node.uuid, name)
        kind = datatype_for(info.typename).name
        if kind not in ("imageblk", "labelmap") or (supervoxels and kind != "labelmap"):
            served = "labelmap" if supervoxels else "image (uint8blk, ...) and labelmap"
            raise NotFound(
                f"{info.name!r} is a {info.typename} instance: the {view} "
                f"{'supervoxel ' if supervoxels else ''}view serves {served} instances only"
            )
        pinned = ":" not in request.path_params["uuid"]
        return Named(node.uuid, info, kind == "labelmap", node.locked, pinned)

    names = ctx.view_names
    if names is None:
        return resolve()
    # supervoxels and view change only which instances are refused (never kept)
    key = f"{view}/{supervoxels}"
    answer = names.named(ref, name, key, resolve)
    if kept(ref):  # the view replay asks again before sending this answer again
        note_names(request.scope, partial(names.still, ref, name, key, answer))
    return answer


def open_volume(ctx: ServerContext, named: Named) -> Volume:
    """Open the instance ``named`` at its node (blocking), once per resolution: a kept
    one (:mod:`.view_names`) is reused while its repo's generation holds, and a reader
    reads the stored data as it is at each call. A committed node's extents never
    change: they are read once."""
    found = named.opened.get("volume")
    if isinstance(found, Volume):
        return found
    opened = ctx.service.open_labels if named.labels else ctx.service.open_image
    instance = opened(named.node, named.info)
    config = instance_config(named.info)
    extents: Callable[[int], Box | None]
    if named.committed:
        extents = functools.cache(instance.extents)
    else:
        extents = _while_unwritten(instance.extents, ctx.service.store.change_marker)
    volume = Volume(
        named.node,
        named.info,
        config,
        named.labels,
        named.committed,
        instance.view,
        extents,
        named.pinned,
    )
    named.opened["volume"] = volume
    return volume


def _while_unwritten(
    extents: Callable[[int], Box | None], marker: Callable[[], int | None]
) -> Callable[[int], Box | None]:
    """``extents``, each scale's answer kept while the store's change ``marker`` stays
    where it was before that answer was read (an open node's extents change only with a
    write; reading them is a versioned scan, several store reads a request)."""
    kept: dict[int, tuple[int, Box | None]] = {}

    def read(scale: int) -> Box | None:
        now = marker()
        if now is None:
            return extents(scale)
        found = kept.get(scale)
        if found is not None and found[0] == now:
            return found[1]
        value = extents(scale)
        kept[scale] = (now, value)
        return value

    return read


def requested_volume(request: Request, ctx: ServerContext, *, supervoxels: bool) -> Volume:
    """:func:`requested_instance`, opened."""
    return open_volume(ctx, requested_instance(request, ctx, supervoxels=supervoxels))


def _info_endpoint(supervoxels: bool) -> Handler:
    async def get_info(request: Request, ctx: ServerContext) -> Response:
        """The volume's ``info``: every stored pyramid scale, chunks = stored blocks."""

        def run() -> Wire | None:
            volume = requested_volume(request, ctx, supervoxels=supervoxels)
            extents = [volume.extents(s) for s in range(volume.config.max_scale + 1)]
            if volume.labels:
                doc = labels_info(volume.config, extents, properties=not supervoxels)
                if not supervoxels and meshes_available():
                    doc["mesh"] = "mesh"  # bodies' meshes: server/precomputed_mesh.py
            else:
                doc = volume_info(volume.config, extents, kind="image", encoding="raw")
            return encode_for(request, lambda: Encoded(json.dumps(doc).encode(), True))

        wire = await small_read(ctx, run)
        assert wire is not None  # an info always exists
        # never immutable: an instance's settings (its voxel size: POST resolution) are
        # not versioned, so even a committed node's info may change
        return wire_answer(request, wire, JSON, committed=False)

    return get_info


def _chunk_endpoint(supervoxels: bool) -> ViewHandler:
    async def get_chunk(request: ViewRequest, ctx: ServerContext) -> Response:
        """One chunk: ``raw`` (images) or ``compressed_segmentation`` (labels); 404 if
        its block was never written, 400 for a key that is not one chunk of the grid."""
        key, name = request.path_params["chunk"], request.path_params["scale_key"]

        def run() -> tuple[Wire | None, bool]:
            named = requested_instance(request, ctx, supervoxels=supervoxels)

            def encode() -> Encoded | None:
                # opened only when the answer is not cached (a committed node's is)
                volume = open_volume(ctx, named)
                scale = scale_of_key(volume.config, name)
                coord = chunk_block(volume.config, key)
                layout = volume.config.layout(scale)
                if volume.labels:
                    cseg = cseg_chunk(volume.reader, layout, coord, supervoxels=supervoxels)
                    return None if cseg is None else Encoded(cseg, True)
                found = raw_chunk_stored(volume.reader, layout, coord)
                if found is None:
                    return None
                body, stored = found
                return Encoded(body, stored * RAW_GZIP_MIN_RATIO <= len(body))

            store = ctx.service.store
            if not named.committed:  # kept with the stored value it was made from
                marker = store.change_marker()  # before any read of the chunk
                note_replayable(request.scope, store, committed=False, marker=marker)
                volume = open_volume(ctx, named)
                chunk = (name, key)
                cache = ctx.view_cache
                return open_chunk(request, cache, named, volume, chunk, supervoxels, marker), False
            # decoded once, then sent from the cache as it is: nothing for the client to
            # decode either
            note_replayable(request.scope, store, committed=True)
            view = "supervoxels" if supervoxels else "default"
            cache_key = named.cache_key("precomputed", view, name, key)
            wire = encode_for(request, encode, cache=ctx.view_cache, key=cache_key)
            return wire, named.immutable

        wire, immutable = await small_read(ctx, run)
        if wire is None:
            raise NotFound(f"chunk {name}/{key} was never written (all background)")
        return wire_answer(request, wire, OCTET, committed=immutable)

    return get_chunk


def precomputed_routes(bind: Binder) -> list[BaseRoute]:
    """The precomputed view's routes (the supervoxel view's first: its ``info`` would
    otherwise read as scale ``supervoxels``, chunk ``info``)."""
    sv = f"{BASE}/supervoxels"
    chunk = Api(answers=(OCTET,))
    return [
        ApiRoute(f"{sv}/info", bind(_info_endpoint(True)), methods=["GET"]),
        view_route(f"{sv}/{CHUNK}", bind, _chunk_endpoint(True), api=chunk),
        ApiRoute(f"{BASE}/info", bind(_info_endpoint(False)), methods=["GET"]),
        view_route(f"{BASE}/{CHUNK}", bind, _chunk_endpoint(False), api=chunk),
    ]
