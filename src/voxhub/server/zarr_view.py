"""Read-only Zarr v3 / OME-Zarr 0.5 views of image and label instances at any version.

Four groups per instance, each an OME-Zarr multiscale group with arrays ``s0``, ``s1``, …
(one per stored pyramid level; :mod:`voxhub.datatypes.imageblk.zarr`):

* ``/zarr/{node}/{instance}/``                     one chunk per stored block (``c/i/j/k``)
* ``/zarr/{node}/{instance}/sharded/``             ``sharding_indexed`` shards of blocks
* ``/zarr/{node}/{instance}/supervoxels/``         (labelmaps) supervoxel ids, unsharded
* ``/zarr/{node}/{instance}/supervoxels/sharded/`` (labelmaps) supervoxel ids, sharded

Labelmaps read as body ids through the mapping at the node, except under
``supervoxels/``. The layout mirrors the precomputed view's (``/precomputed/.../sharded/``).
``{node}`` is any node reference the API takes (UUID, unique prefix, ``uuid:branch``,
``:branch~N``). Absent chunks and shards (no stored block) are 404 and read as the fill
value; so are Zarr v2's names (``.zarray``, ``.zattrs``, ``.zgroup``, ``.zmetadata``),
which zarr-python probes: no route serves them. Answers go through
:func:`~voxhub.server.view_answer.view_answer` (strong ``ETag``, 304, ``Range`` with
suffix ranges: readers fetch a shard's index with ``bytes=-N``). A committed node's
chunks and shards never change: they are kept in the view cache, tagged by their key, and
are ``immutable`` when the URL names the node by UUID (a branch reference such as
``:master~1`` moves: revalidated); metadata is ``no-cache`` (an instance's voxel size is
not versioned).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.blocks.digest import feed_stored
from voxhub.blocks.pool import parallel_map
from voxhub.codecs.zarr_shard import encode_shard
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.zarr import (
    array_metadata,
    array_shape,
    group_metadata,
    image_chunk,
    serves_stored_bytes,
    shard_block_coords,
    shard_blocks,
)
from voxhub.datatypes.labelmap.cseg_streams import Mapping
from voxhub.datatypes.labelmap.mapping import bodies_array
from voxhub.datatypes.labelmap.zarr import label_chunk, stored_supervoxels, table_mapping
from voxhub.datatypes.wire.api import JSON, OCTET, Api, ApiRoute
from voxhub.datatypes.wire.numbers import parse_int
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import NotFound
from voxhub.geometry import Box, Vec3
from voxhub.server.context import Binder, Handler, ServerContext
from voxhub.server.one_at_a_time import OneAtATime
from voxhub.server.precomputed import Volume, open_volume, requested_instance
from voxhub.server.view_answer import key_etag, strong_etag, view_answer
from voxhub.server.view_cache import Built
from voxhub.server.view_names import Named
from voxhub.server.view_replay import note_replayable
from voxhub.server.view_request import HasPath, ViewHandler, ViewRequest, view_route

BASE = "/zarr/{uuid}/{instance}"
ARRAY = "{array}"
CHUNK = "{array}/c/{cz}/{cy}/{cx}"
#: changes whenever the bytes served for a stored block change (a committed node's ETags)
_FORMAT = "zarr-1"
_MAX_LEVEL_DIGITS = 2


@dataclass(frozen=True)
class _Group:
    """The instance a request names, at its node, as one of its four Zarr groups."""

    named: Named
    volume: Volume
    supervoxels: bool
    sharded: bool

    @property
    def config(self) -> ImageConfig:
        return self.volume.config

    def level(self, array: str) -> int:
        """The pyramid level array ``s{n}`` is (404 for any other name)."""
        digits = array[1:]
        if (
            not array.startswith("s")
            or not 0 < len(digits) <= _MAX_LEVEL_DIGITS
            or not digits.isascii()
            or not digits.isdigit()
            or (digits != "0" and digits.startswith("0"))
            or int(digits) > self.config.max_scale
        ):
            levels = ", ".join(f"s{s}" for s in range(self.config.max_scale + 1))
            raise NotFound(
                f"{self.named.info.name!r} has no Zarr array {array!r}: its arrays are {levels}"
            )
        return int(digits)

    def chunk(self, level: int, cz: str, cy: str, cx: str) -> Vec3:
        """The chunk (or shard) grid position ``c/cz/cy/cx`` names: 400 unless decimal
        indices, 404 past the array's chunk grid (nothing is stored there)."""
        index = (
            parse_int(cz, "chunk index z", 0, 2**31),
            parse_int(cy, "chunk index y", 0, 2**31),
            parse_int(cx, "chunk index x", 0, 2**31),
        )
        shape = array_shape(self.volume.extents(level))
        block = self.config.block_shape
        per = shard_blocks(self.config) if self.sharded else (1, 1, 1)
        side = [b * n for b, n in zip(block, per, strict=True)]
        if any(i * s >= n for i, s, n in zip(index, side, shape, strict=True)):
            raise NotFound(f"chunk c/{cz}/{cy}/{cx} is outside array s{level} {list(shape)}")
        return index


def _group(request: HasPath, ctx: ServerContext, *, supervoxels: bool, sharded: bool) -> _Group:
    """Resolve the node and instance (blocking): 404 unless an image or label instance
    (and a label instance for the supervoxel groups)."""
    named = requested_instance(request, ctx, supervoxels=supervoxels, view="Zarr")
    return _Group(named, open_volume(ctx, named), supervoxels, sharded)


def _levels(group: _Group) -> list[Box | None]:
    return [group.volume.extents(s) for s in range(group.config.max_scale + 1)]


def _stored(group: _Group, level: int, position: Vec3) -> list[bytes | None]:
    """The stored values of the blocks of the chunk, or shard, at grid ``position``."""
    layout = group.config.layout(level)
    coords = shard_block_coords(group.config, position) if group.sharded else [position]
    return group.volume.reader.get_many([layout.tkey(c) for c in coords])


def _encoded(
    group: _Group, level: int, values: list[bytes | None], bodies: Mapping | None = None
) -> bytes | None:
    """The chunk, or the shard, of blocks whose stored values are ``values`` (``None``:
    absent); body ids through ``bodies`` when given, else the mapping at the node."""
    layout = group.config.layout(level)
    reader = group.volume.reader

    def chunk(value: bytes | None) -> bytes | None:
        if group.volume.labels:
            sv = group.supervoxels
            return label_chunk(reader, layout, value, supervoxels=sv, bodies=bodies)
        return image_chunk(layout, value)

    if not group.sharded:
        return chunk(values[0])
    return encode_shard(parallel_map(chunk, values))


def _fingerprint(values: list[bytes | None]) -> str:
    """A digest of stored values: what an image or supervoxel shard is a function of."""
    digest = hashlib.blake2b(digest_size=16)
    feed_stored(digest, values)
    return digest.hexdigest()


def _open_bodies(
    ctx: ServerContext,
    key: Hashable,
    group: _Group,
    level: int,
    values: list[bytes | None],
    marker: int | None,
) -> tuple[bytes | None, bool, str | None]:
    """An open node's chunk or shard of body ids, kept with the stored values and the
    bodies of their supervoxels it was made from (one table read up front, used for every
    block): while both read the same, byte for byte, the kept answer and tag are it.
    ``marker``: the store's change marker before ``values`` were read."""
    layout = group.config.layout(level)
    kept = ctx.view_cache.peek_built(key)
    same = kept is not None and kept.source[:-1] == tuple(values)
    svs = kept.extra if same and kept is not None else stored_supervoxels(layout, values)
    if not isinstance(svs, np.ndarray):  # not stored as cseg: made anew each time
        return _encoded(group, level, values), False, None
    bodies = bodies_array(group.volume.reader, svs)
    source = (*values, bodies.tobytes())
    built = ctx.view_cache.get_built(key, source, marker)
    if built is not None:
        return built.body, False, built.tag

    # not through _SHARDS: requests sharing this key may hold other stored values
    data = _encoded(group, level, values, table_mapping(svs, bodies))
    if data is None:
        return None, False, None
    tag = strong_etag(data)
    ctx.view_cache.put_built(key, Built(source, data, tag, extra=svs, marker=marker))
    return data, False, tag


def _open_chunk(
    ctx: ServerContext,
    key: Hashable,
    make: Callable[[], bytes | None],
    values: list[bytes | None],
    marker: int | None,
) -> tuple[bytes | None, bool, str | None]:
    """An open node's chunk made by ``make()`` from the stored ``values``, kept with them
    (:class:`~voxhub.server.view_cache.Built`): while a read finds the same values, byte
    for byte, the kept chunk and its tag are the answer."""
    source = tuple(values)
    built = ctx.view_cache.get_built(key, source, marker)
    if built is not None:
        return built.body, False, built.tag
    data = make()
    if data is None:
        return None, False, None
    tag = strong_etag(data)
    ctx.view_cache.put_built(key, Built(source, data, tag, marker=marker))
    return data, False, tag


#: a reader asks for a shard's index and then for many of its chunks at once: the first
#: request builds the shard, the others wait for it (shards run on the thread pool)
_SHARDS = OneAtATime()


def _endpoints(supervoxels: bool, sharded: bool) -> tuple[Handler, Handler, ViewHandler]:
    """The group ``zarr.json``, array ``zarr.json`` and chunk handlers of one group."""

    def resolve(request: HasPath, ctx: ServerContext) -> _Group:
        return _group(request, ctx, supervoxels=supervoxels, sharded=sharded)

    async def get_group(request: Request, ctx: ServerContext) -> Response:
        """The OME-Zarr group: multiscales metadata and every array's, consolidated."""

        def run() -> bytes:
            group = resolve(request, ctx)
            name = group.named.info.name
            doc = group_metadata(group.config, name, _levels(group), sharded=sharded)
            return json.dumps(doc).encode()

        return view_answer(request, await small_read(ctx, run), JSON, committed=False)

    async def get_array(request: Request, ctx: ServerContext) -> Response:
        """One level's array ``zarr.json``."""

        def run() -> bytes:
            group = resolve(request, ctx)
            level = group.level(request.path_params["array"])
            shape = array_shape(group.volume.extents(level))
            return json.dumps(array_metadata(group.config, shape, sharded=sharded)).encode()

        return view_answer(request, await small_read(ctx, run), JSON, committed=False)

    async def get_chunk(request: ViewRequest, ctx: ServerContext) -> Response:
        """One chunk (one stored block), or one shard of blocks; 404 when absent."""
        p = request.path_params
        array = p["array"]

        def run(cached_only: bool = False) -> tuple[bytes | None, bool, str | None] | None:
            group = resolve(request, ctx)
            level = group.level(array)
            position = group.chunk(level, p["cz"], p["cy"], p["cx"])
            named = group.named
            view = ("supervoxels" if supervoxels else "default", "shard" if sharded else "chunk")
            store = ctx.service.store
            if named.committed:  # its whole answer, whichever way it is found
                note_replayable(request.scope, store, committed=True)
            if cached_only:  # a shard made before and still what it was, or None
                if not named.committed:
                    kept = ctx.view_cache.built_since(
                        named.cache_key("zarr-open", *view, level, position), store.change_marker()
                    )
                    if kept is None:
                        return None
                    note_replayable(request.scope, store, committed=False, marker=kept.marker)
                    return kept.body, False, kept.tag
                key = named.cache_key("zarr", *view, level, position)
                found, shard = ctx.view_cache.get(key)
                return (shard, named.immutable, key_etag(_FORMAT, key)) if found else None
            if not named.committed:
                marker = store.change_marker()  # before any read of the data
                note_replayable(request.scope, store, committed=False, marker=marker)
                kept_key = named.cache_key("zarr-open", *view, level, position)
                unchanged = ctx.view_cache.built_since(kept_key, marker)
                if unchanged is not None:  # nothing written since its source was read
                    return unchanged.body, False, unchanged.tag
                values = _stored(group, level, position)
                if named.labels and not supervoxels:  # body ids: the mapping may change
                    return _open_bodies(ctx, kept_key, group, level, values, marker)
                if not sharded:  # kept with the exact stored value it was made from
                    make = partial(_encoded, group, level, values)
                    return _open_chunk(ctx, kept_key, make, values, marker)
                # readers fetch a shard's index, then its chunks, one request each: an
                # open node's shard is kept under the digest of the blocks it is made of
                key = named.cache_key("zarr", *view, level, position, _fingerprint(values))
                shard = ctx.view_cache.get_or_compute(
                    key, lambda: _SHARDS.run(key, lambda: _encoded(group, level, values))
                )
                tag = key_etag(_FORMAT, key)
                if shard is not None and marker is not None:  # the next range requests
                    # find it without reading and hashing its blocks while nothing is written
                    ctx.view_cache.put_built(kept_key, Built((), shard, tag, marker=marker))
                return shard, False, tag
            # a committed node's answer is fixed by its key: no need to hash megabytes
            key = named.cache_key("zarr", *view, level, position)

            def encoded() -> bytes | None:
                return _encoded(group, level, _stored(group, level, position))

            tag = key_etag(_FORMAT, key)
            stored = not (named.labels or sharded)
            if stored and serves_stored_bytes(group.config.layout(level)):
                return encoded(), named.immutable, tag  # a stored value: not cached
            if sharded:
                encoded = partial(_SHARDS.run, key, encoded)
            return ctx.view_cache.get_or_compute(key, encoded), named.immutable, tag

        # a shard is made on the thread pool (it reads and encodes many blocks), but a
        # reader's range requests for one already made are answered where they arrive
        # (the hop to the pool cost ~0.1 ms of a 0.4 ms request)
        answer = await small_read(ctx, partial(run, True)) if sharded else None
        if answer is None:
            answer = await small_read(ctx, run, small=not sharded)
        assert answer is not None  # run() always answers
        data, immutable, etag = answer
        if data is None:
            where = f"{array}/c/{p['cz']}/{p['cy']}/{p['cx']}"
            raise NotFound(f"{'shard' if sharded else 'chunk'} {where} holds no stored block")
        return view_answer(request, data, OCTET, committed=immutable, etag=etag)

    return get_group, get_array, get_chunk


def zarr_routes(bind: Binder) -> list[BaseRoute]:
    """The Zarr view's routes, fixed names first (``supervoxels/zarr.json`` must not read
    as array ``supervoxels``)."""
    chunk = Api(answers=(OCTET,))
    routes: list[BaseRoute] = []
    for suffix, supervoxels, sharded in (
        ("/supervoxels/sharded", True, True),
        ("/supervoxels", True, False),
        ("/sharded", False, True),
        ("", False, False),
    ):
        base = BASE + suffix
        group, array, chunk_handler = _endpoints(supervoxels, sharded)
        routes += [
            ApiRoute(f"{base}/zarr.json", bind(group), methods=["GET"]),
            ApiRoute(f"{base}/{ARRAY}/zarr.json", bind(array), methods=["GET"]),
            view_route(f"{base}/{CHUNK}", bind, chunk_handler, api=chunk),
        ]
    return routes
