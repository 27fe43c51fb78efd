"""``RemoteImage``: voxel reads and writes of one image instance through a server.

Reads of a few blocks are one ``GET raw`` (the server decodes; lowest latency). Larger
reads fetch the *stored* blocks (``specificblocks?compression=native``) in groups over
the connection pool and decode them here, each group as soon as it arrives: half the
bytes cross the wire (zstd) and decoding runs on this machine's cores, overlapped with
the transfers. Writes are one atomic ``POST raw`` up to ``piece_bytes``; larger writes are
cut into block-aligned slabs (:mod:`.pieces`) posted in parallel, each atomic on its own.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import numpy as np

from voxhub.blocks import fill_block, new_output
from voxhub.client.remote.extents import ExtentsCache
from voxhub.client.remote.pieces import dvid_geometry, run_all, split_box, write_slabs
from voxhub.client.remote.transport import Transport
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.datatypes.imageblk.dvid_info import parse_extents_body
from voxhub.datatypes.imageblk.instance import DEFAULT_MAX_REQUEST_VOXELS
from voxhub.datatypes.imageblk.read import check_request
from voxhub.datatypes.imageblk.write import coerce
from voxhub.datatypes.wire.block_stream import iter_stream
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import InstanceInfo

#: reads touching at most this many blocks go through one ``GET raw``
RAW_READ_BLOCKS = 8
#: blocks per ``specificblocks`` request (fewer when the read is small)
GROUP_BLOCKS = 32


class RemoteImage:
    """The :class:`~voxhub.client.backend.ImageAccess` of an image instance on a server."""

    def __init__(
        self,
        http: Transport,
        pool: ThreadPoolExecutor,
        node_uuid: str,
        info: InstanceInfo,
        *,
        connections: int,
        piece_bytes: int,
        extents: ExtentsCache,
    ) -> None:
        self._http = http
        self._pool = pool
        self._connections = max(1, connections)
        self.name = info.name
        self._base = f"/api/node/{node_uuid}/{quote(info.name, safe='')}"
        self._config = ImageConfig.from_json(info.config)
        self._extents = extents.entry(node_uuid, info.name, self._fetch_extents)
        self._dtype = np.dtype(self._config.dtype)
        self._wire = self._dtype.newbyteorder("<")
        codec = self._config.make_codec()
        self._layouts = [self._config.layout(s, codec) for s in range(self._config.max_scale + 1)]
        self._piece_voxels = max(1, piece_bytes // self._dtype.itemsize)

    def __repr__(self) -> str:
        return f"RemoteImage({self.name!r} at {self._http.base_url}{self._base})"

    @property
    def config(self) -> ImageConfig:
        return self._config

    # -- reads ------------------------------------------------------------------------
    def read(self, box: Box, scale: int = 0) -> np.ndarray:
        """Voxels of ``box`` (coordinates of ``scale``); unwritten voxels are background."""
        self._config.check_scale(scale, self.name)
        check_request(box, DEFAULT_MAX_REQUEST_VOXELS, f"read of {self.name!r}")
        layout = self._layouts[scale]
        coords = list(layout.grid.blocks_in(box))
        if len(coords) <= RAW_READ_BLOCKS:
            return self._read_raw(box, scale)
        out = new_output(box.shape, self._dtype)
        size = min(GROUP_BLOCKS, max(1, math.ceil(len(coords) / (2 * self._connections))))
        groups = [coords[i : i + size] for i in range(0, len(coords), size)]

        def fetch(group: list[Vec3]) -> None:
            blocks = ",".join(f"{x},{y},{z}" for z, y, x in group)
            params = {"blocks": blocks, "scale": scale, "compression": "native"}
            body = self._http.request("GET", f"{self._base}/specificblocks", params=params)
            missing = set(group)
            for coord, data in iter_stream(body.content):
                if coord not in missing:
                    raise InvalidRequest(f"server sent block {coord}, which was not asked for")
                missing.discard(coord)
                fill_block(layout, box, out, coord, data)
            for coord in missing:  # never written: the server leaves them out
                fill_block(layout, box, out, coord, None)

        run_all(self._pool, fetch, groups)
        return out

    def _read_raw(self, box: Box, scale: int) -> np.ndarray:
        if box.empty:
            return np.zeros(box.shape, dtype=self._dtype)
        path = f"{self._base}/raw/0_1_2/{dvid_geometry(box)}"
        out = np.empty(box.shape, dtype=self._wire)
        self._http.request(
            "GET", path, params={"scale": scale}, into=out.reshape(-1).view(np.uint8).data
        )
        return out.astype(self._dtype, copy=False)

    def extents(self, scale: int = 0) -> Box | None:
        """Bounding box of every voxel written (at ``scale``, the downsampled box); known
        without a request once learned (:mod:`.extents` says when it is refreshed)."""
        self._config.check_scale(scale, self.name)
        box = self._extents.get()
        if box is None or scale == 0:
            return box
        return box.downsample(self._config.scale_factor(scale))

    def _fetch_extents(self) -> Box | None:
        body = self._http.get_json(f"{self._base}/extents", params={"scale": 0})
        return None if body is None else parse_extents_body(body)

    # -- writes -----------------------------------------------------------------------
    def write(self, offset: Vec3, data: Any) -> None:
        """Write a 3-D array at scale 0 with its ``[0,0,0]`` voxel at ``offset``."""
        shape = np.shape(data)
        if len(shape) != 3:
            raise InvalidRequest(f"write data must be 3-D (z, y, x), got shape {shape}")
        box = Box.from_shape((shape[0], shape[1], shape[2]), offset)
        check_request(box, DEFAULT_MAX_REQUEST_VOXELS, f"write to {self.name!r}")
        arr = coerce(data, self._dtype)
        pieces = split_box(box, self._config.block_shape, self._piece_voxels)

        def post(piece: Box) -> None:
            part = arr[piece.relative_to(box.start)]
            wire = np.ascontiguousarray(part, dtype=self._wire)
            path = f"{self._base}/raw/0_1_2/{dvid_geometry(piece)}"
            self._http.request("POST", path, content=wire.reshape(-1).view(np.uint8).data)

        try:
            write_slabs(self._pool, post, pieces, f"write of {box} to {self.name!r}")
        except BaseException:
            self._extents.forget()  # some slabs may have landed
            raise
        self._extents.grew(box)

    def build_pyramid(self) -> None:
        """Recompute every pyramid level from scale 0 (on the server)."""
        self._http.request("POST", f"{self._base}/pyramid")
