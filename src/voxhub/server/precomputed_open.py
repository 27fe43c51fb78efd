"""An open node's precomputed chunks, kept with exactly what they were made from.

A chunk of an open node may change with any write, so it used to be made again on every
request: the block decoded (or its cseg tables mapped to bodies), maybe compressed, and
its strong ``ETag`` hashed (SHA-256 of a 256 KiB chunk, ~0.15 ms: half of the request).
A viewer asks for the same chunks over and over, and writes are rare in between. So each
answer is kept in the view cache as a :class:`~voxhub.server.view_cache.Built`: with the
stored value it was made from (and, for body ids, the bodies of the block's supervoxels
at the node). A request reads the stored value (and those bodies) as before and, when
they equal what the kept answer was made from, byte for byte, sends that answer: the same
bytes and tag it would make again. Anything else is made as before and kept in its place.

So an open node's chunks go as a committed node's do (:mod:`.view_encoding`): decoded
once, compressed only when that pays. They used to go to clients naming zstd as stored
(the block's zstd frames), which spared the server a decode per request but left one to
the client each time; with the answer kept, the decode is the server's once per write.

The answer also depends on what the request accepts (zstd, gzip, identity; a ranged
request gets identity): that is part of the key.

Reading the stored value and the bodies again is most of such a request's work (a
versioned read and a scan of the mapping). So a kept answer also notes the store's change
marker (:meth:`~voxhub.storage.base.KVStore.change_marker`) as it was before they were
last read: while the marker has not moved, nothing at all was written, and the answer is
sent without reading anything.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import numpy as np

from voxhub.datatypes.imageblk.precomputed import (
    chunk_block,
    raw_of_stored,
    scale_of_key,
)
from voxhub.datatypes.labelmap.mapping import bodies_array
from voxhub.datatypes.labelmap.native_transcode import is_cseg_labels
from voxhub.datatypes.labelmap.precomputed import cseg_of_stored
from voxhub.server.view_answer import HasHeaders
from voxhub.server.view_cache import Built, ViewCache
from voxhub.server.view_encoding import (
    RAW_GZIP_MIN_RATIO,
    Encoded,
    Wire,
    coding_for,
    encode_for,
)
from voxhub.server.view_names import Named

if TYPE_CHECKING:  # precomputed imports this module
    from voxhub.server.precomputed import Volume


def open_chunk(
    request: HasHeaders,
    cache: ViewCache,
    named: Named,
    volume: Volume,
    chunk: tuple[str, str],
    supervoxels: bool,
    marker: int | None = None,
) -> Wire | None:
    """The chunk ``chunk`` (scale key, chunk key) of ``volume``, the open node's instance
    ``named``, as ``request`` should get it (blocking); ``None`` if its block was never
    written and the background is zero. ``marker`` is the store's change marker, read
    before anything else of this request."""
    name, key = chunk
    coding = coding_for(request)  # what the request accepts is part of the answer
    view = "supervoxels" if supervoxels else "default"
    memo: Hashable = named.cache_key("precomputed-open", view, name, key, coding)
    unchanged = cache.built_since(memo, marker)
    if unchanged is not None:  # nothing written since its source was read
        return Wire(unchanged.body, unchanged.tag, dict(unchanged.headers))
    config = volume.config
    layout = config.layout(scale_of_key(config, name))
    reader = volume.reader
    found = reader.get(layout.tkey(chunk_block(config, key)))
    stored = None if found is None else bytes(found)
    svs: np.ndarray | None = None
    source: tuple[bytes | None, ...] = (stored,)
    if volume.labels and not supervoxels:
        if stored is None or not is_cseg_labels(layout):  # nothing to keep: made anew
            memo = None
        else:
            kept = cache.peek_built(memo)
            if kept is not None and kept.source[0] == stored:
                svs = kept.extra if isinstance(kept.extra, np.ndarray) else None
            if svs is not None:  # the bodies of the same supervoxels, read now
                source = (stored, bodies_array(reader, svs).tobytes())
    if memo is not None and (svs is not None or not volume.labels or supervoxels):
        built = cache.get_built(memo, source, marker)
        if built is not None:
            return Wire(built.body, built.tag, dict(built.headers))
    seen: dict[str, np.ndarray] = {}

    def bodies(distinct: np.ndarray) -> np.ndarray:
        mapped = bodies_array(reader, distinct)
        seen["svs"], seen["bodies"] = np.asarray(distinct, np.uint64), mapped
        return mapped

    def encode() -> Encoded | None:
        if volume.labels:
            if stored is None:
                return None
            return Encoded(
                cseg_of_stored(reader, layout, stored, supervoxels=supervoxels, bodies=bodies), True
            )
        made = raw_of_stored(layout, stored)
        if made is None:
            return None
        body, size = made
        return Encoded(body, size * RAW_GZIP_MIN_RATIO <= len(body))

    wire = encode_for(request, encode)
    if wire is None or memo is None:
        return wire
    if volume.labels and not supervoxels:
        if "svs" not in seen:
            return wire
        source = (stored, np.asarray(seen["bodies"], np.uint64).tobytes())
    extra = seen.get("svs")
    headers = tuple(wire.headers.items())
    cache.put_built(memo, Built(source, wire.body, wire.etag, headers, extra, marker))
    return wire
