"""The sharded neuroglancer precomputed views (``neuroglancer_uint64_sharded_v1``):
``/precomputed/{node}/{instance}/sharded/info`` and ``.../sharded/{scale_key}/{shard}``
(``{shard}`` is ``{hex}.shard``), and the same under ``/supervoxels/sharded/`` for
labelmaps.

Shards are computed from the stored blocks on request
(:mod:`voxhub.datatypes.imageblk.precomputed_sharded`,
:mod:`voxhub.datatypes.labelmap.precomputed_sharded`); a shard none of whose blocks was
written is a 404 (readers take every chunk of it as absent). Readers fetch a shard by
byte ranges (its index, then a minishard index, then a chunk), all answered by
:func:`~voxhub.server.view_answer.view_answer`. A committed node's shards never change:
they are assembled once and kept in the process's view cache. An open node's shard is
assembled again for each request, but only from the blocks of its box (≤ 512), and a
reader's three range requests for one chunk cost three such assemblies: measured in
``bench/views_export.py``.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.imageblk.precomputed import scale_of_key
from voxhub.datatypes.imageblk.precomputed_sharded import (
    image_sharded_info,
    raw_shard,
    scale_sharding,
)
from voxhub.datatypes.labelmap.precomputed_sharded import cseg_shard, labels_sharded_info
from voxhub.datatypes.wire.api import JSON, OCTET, Api, ApiRoute
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import NotFound
from voxhub.server.context import Binder, Handler, ServerContext
from voxhub.server.precomputed import BASE, requested_volume
from voxhub.server.view_answer import view_answer

SHARD = "{scale_key}/{shard}"


def _info_endpoint(supervoxels: bool) -> Handler:
    async def get_info(request: Request, ctx: ServerContext) -> Response:
        """The sharded volume's ``info``: the unsharded one with a ``sharding`` spec per
        scale (the spec follows the scale's bounds, so an open node's may change)."""

        def run() -> bytes:
            volume = requested_volume(request, ctx, supervoxels=supervoxels)
            extents = [volume.extents(s) for s in range(volume.config.max_scale + 1)]
            if volume.labels:
                doc = labels_sharded_info(volume.config, extents)
            else:
                doc = image_sharded_info(volume.config, extents)
            return json.dumps(doc).encode()

        return view_answer(request, await small_read(ctx, run), JSON, committed=False)

    return get_info


def _shard_endpoint(supervoxels: bool) -> Handler:
    async def get_shard(request: Request, ctx: ServerContext) -> Response:
        """One shard file (or a byte range of it); 404 if none of its blocks was
        written, 400 for a name that is not a shard of the scale."""
        name, file = request.path_params["scale_key"], request.path_params["shard"]

        def run() -> tuple[bytes | None, bool]:
            volume = requested_volume(request, ctx, supervoxels=supervoxels)
            scale = scale_of_key(volume.config, name)
            sharding = scale_sharding(volume.config, volume.extents(scale))
            shard = sharding.spec.shard_of_name(file)
            layout = volume.config.layout(scale)

            def assemble() -> bytes | None:
                if volume.labels:
                    parts = cseg_shard(
                        volume.reader, layout, sharding, shard, supervoxels=supervoxels
                    )
                else:
                    parts = raw_shard(volume.reader, layout, sharding, shard)
                return None if parts is None else b"".join(parts)

            if not volume.committed:
                return assemble(), False
            view = "supervoxels" if supervoxels else "default"
            key = ("precomputed-sharded", volume.node, volume.info.name, view, scale, shard)
            # immutable only where the URL names the node itself (a branch ref moves)
            return ctx.view_cache.get_or_compute(key, assemble), volume.immutable

        data, committed = await small_read(ctx, run, small=False)
        if data is None:
            raise NotFound(f"shard {name}/{file} holds no written block (all background)")
        return view_answer(request, data, OCTET, committed=committed)

    return get_shard


def sharded_routes(bind: Binder) -> list[BaseRoute]:
    """The sharded views' routes (before the unsharded ones: ``sharded/info`` would read
    as scale ``sharded``, chunk ``info``)."""
    shard = Api(answers=(OCTET,))
    routes: list[BaseRoute] = []
    for prefix, supervoxels in ((f"{BASE}/supervoxels/sharded", True), (f"{BASE}/sharded", False)):
        routes += [
            ApiRoute(f"{prefix}/info", bind(_info_endpoint(supervoxels)), methods=["GET"]),
            ApiRoute(
                f"{prefix}/{SHARD}", bind(_shard_endpoint(supervoxels)), methods=["GET"], api=shard
            ),
        ]
    return routes
