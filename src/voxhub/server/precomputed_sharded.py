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
they are assembled once, kept in the process's view cache and tagged by their cache key.
An open node's shard may change with any write: each request hashes what the shard is
made of (its blocks' stored values, and a labelmap's mapping for body ids; a fraction of
the cost of assembling it) and looks the shard up in the view cache under that hash, which
is also its ``ETag``; so the three range requests a reader makes for one chunk (shard
index, minishard index, chunk) assemble it once (measured: 50-220 ms per request before,
on a loaded 2-core VM, for a 512-block label shard).
The hash is read once per write: the shard is also kept with the store's change marker
(:meth:`~voxhub.storage.base.KVStore.change_marker`) read before its sources, and while
that has not moved, nothing was written and the next range requests get it without
reading a block (answered on the event loop; 10 ms of reading and hashing a 512-block
label shard per request before).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.imageblk.precomputed import scale_of_key
from voxhub.datatypes.imageblk.precomputed_sharded import (
    image_sharded_info,
    raw_shard,
    scale_sharding,
    shard_fingerprint,
)
from voxhub.datatypes.labelmap.precomputed import SEGMENT_PROPERTIES
from voxhub.datatypes.labelmap.precomputed_sharded import (
    cseg_shard,
    labels_sharded_info,
    labels_sharding,
    mapping_state,
)
from voxhub.datatypes.meshes import meshes_available
from voxhub.datatypes.wire.api import JSON, OCTET, Api, ApiRoute
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import NotFound
from voxhub.server.context import Binder, Handler, ServerContext
from voxhub.server.precomputed import BASE, open_volume, requested_instance, requested_volume
from voxhub.server.view_answer import key_etag, view_answer
from voxhub.server.view_cache import Built

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
                if not supervoxels:  # served under sharded/ too (relative paths)
                    doc["segment_properties"] = SEGMENT_PROPERTIES
                    if meshes_available():
                        doc["mesh"] = "mesh"
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

        def run(cached_only: bool = False) -> tuple[bytes | None, str, bool] | None:
            named = requested_instance(request, ctx, supervoxels=supervoxels)
            volume = open_volume(ctx, named)
            scale = scale_of_key(volume.config, name)
            sharding = (labels_sharding if volume.labels else scale_sharding)(
                volume.config, volume.extents(scale)
            )
            shard = sharding.spec.shard_of_name(file)
            layout = volume.config.layout(scale)
            view = "supervoxels" if supervoxels else "default"
            store = ctx.service.store

            def latest() -> Hashable:  # an open node's shard as last made
                return named.cache_key("precomputed-sharded-latest", view, scale, shard)

            if cached_only:  # a shard made before and still what it was, or None
                if not volume.committed:
                    kept = ctx.view_cache.built_since(latest(), store.change_marker())
                    return None if kept is None else (kept.body, kept.tag, False)
                key = named.cache_key("precomputed-sharded", view, scale, shard)
                cached, data = ctx.view_cache.get(key)
                return (data, key_etag(key), volume.immutable) if cached else None

            def assemble() -> bytes | None:
                if volume.labels:
                    parts = cseg_shard(
                        volume.reader, layout, sharding, shard, supervoxels=supervoxels
                    )
                else:
                    parts = raw_shard(volume.reader, layout, sharding, shard)
                return None if parts is None else b"".join(parts)

            if volume.committed:  # never changes: named by its key alone
                key = named.cache_key("precomputed-sharded", view, scale, shard)
                tag = key_etag(key)
                # immutable only where the URL names the node itself (a branch ref moves)
                return ctx.view_cache.get_or_compute(key, assemble), tag, volume.immutable
            # an open node's shard is named by what it is made of, so the range requests
            # of one reader (index, minishard index, chunk) build it once, not three times
            marker = store.change_marker()  # before any read of the shard's sources
            bodies = volume.labels and not supervoxels
            also = mapping_state(volume.reader) if bodies else ()
            found = shard_fingerprint(volume.reader, layout, sharding, shard, also)
            if found is None:
                return None, "", False
            key = named.cache_key("precomputed-sharded-open", view, scale, shard, found)
            data = ctx.view_cache.get_or_compute(key, assemble)
            if data is not None and marker is not None:  # the reader's next range requests
                # find it without reading and hashing its sources while nothing is written
                ctx.view_cache.put_built(latest(), Built((), data, f'"{found}"', marker=marker))
            return data, f'"{found}"', False

        # a shard is made on the thread pool (it reads and encodes many blocks), but a
        # reader's range requests (index, minishard index, chunk) for one already made
        # are answered where they arrive: the hop to the pool cost ~0.1 ms of each
        answer = await small_read(ctx, partial(run, True))
        if answer is None:
            answer = await small_read(ctx, run, small=False)
        assert answer is not None  # run() always answers
        data, tag, immutable = answer
        if data is None:
            raise NotFound(f"shard {name}/{file} holds no written block (all background)")
        return view_answer(request, data, OCTET, committed=immutable, etag=tag)

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
