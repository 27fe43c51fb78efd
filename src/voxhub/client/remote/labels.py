"""``RemoteLabels``: a labelmap instance at one node, through the server's DVID routes.

Reads and writes of voxels go through ``raw`` (uint64, little-endian, z-y-x), cut into
block-aligned pieces fetched or posted in parallel; everything else is one request to
the DVID endpoint of the same name, with the user and app of each mutation passed as
DVID's ``u=`` and ``app=``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import numpy as np

from voxhub.client.remote.extents import ExtentsCache
from voxhub.client.remote.pieces import dvid_geometry, run_all, split_box, write_slabs
from voxhub.client.remote.transport import Transport
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.datatypes.imageblk.dvid_info import parse_extents_body
from voxhub.datatypes.imageblk.instance import DEFAULT_MAX_REQUEST_VOXELS
from voxhub.datatypes.imageblk.read import check_request
from voxhub.datatypes.imageblk.write import coerce
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.index_json import index_from_json, index_to_json
from voxhub.datatypes.labelmap.mutations import Who, check_label
from voxhub.datatypes.labelmap.native_block import encode_native
from voxhub.datatypes.labelmap.rle import decode_rles, encode_rles, runs_bounds
from voxhub.datatypes.meshes.body import BodyMesh, Triangles, triangles_from_files
from voxhub.datatypes.wire.block_stream import encode_stream
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import InstanceInfo

_WIRE = np.dtype("<u8")


#: decoded bytes per ``POST blocks`` / ``ingest-supervoxels`` request of ``write_blocks``
#: and ``ingest_supervoxels`` (16 blocks of 64³): under the server's request limits and
#: below its "large request" size, so bulk ingests do not queue for its few large slots
BYTES_PER_POST = 32 << 20


class RemoteLabels:
    """The :class:`~voxhub.client.backend.LabelAccess` of a labelmap on a server."""

    def __init__(
        self,
        http: Transport,
        pool: ThreadPoolExecutor,
        node_uuid: str,
        info: InstanceInfo,
        *,
        piece_bytes: int,
        extents: ExtentsCache,
    ) -> None:
        self._http = http
        self._pool = pool
        self.name = info.name
        self._base = f"/api/node/{node_uuid}/{quote(info.name, safe='')}"
        self._meshes = f"/precomputed/{node_uuid}/{quote(info.name, safe='')}/mesh"
        self._config = ImageConfig.from_json(info.config)
        self._extents = extents.entry(node_uuid, info.name, self._fetch_extents)
        self._piece_voxels = max(1, piece_bytes // 8)

    @property
    def config(self) -> ImageConfig:
        return self._config

    # -- voxels --------------------------------------------------------------------------
    def read(self, box: Box, scale: int = 0, *, supervoxels: bool = False) -> np.ndarray:
        self._config.check_scale(scale, self.name)
        check_request(box, DEFAULT_MAX_REQUEST_VOXELS, f"read of {self.name!r}")
        out = np.zeros(box.shape, dtype=np.uint64)
        params = {"scale": scale, "supervoxels": "true" if supervoxels else "false"}

        def fetch(piece: Box) -> None:
            wire = np.empty(piece.shape, dtype=_WIRE)
            self._http.request(
                "GET",
                f"{self._base}/raw/0_1_2/{dvid_geometry(piece)}",
                params=params,
                into=wire.reshape(-1).view(np.uint8).data,
            )
            out[piece.relative_to(box.start)] = wire

        run_all(self._pool, fetch, split_box(box, self._config.block_shape, self._piece_voxels))
        return out

    def write(self, offset: Vec3, data: Any) -> None:
        shape = np.shape(data)
        if len(shape) != 3:
            raise InvalidRequest(f"write data must be 3-D (z, y, x), got shape {shape}")
        box = Box.from_shape((shape[0], shape[1], shape[2]), offset)
        check_request(box, DEFAULT_MAX_REQUEST_VOXELS, f"write to {self.name!r}")
        arr = coerce(data, np.dtype(np.uint64))

        def post(piece: Box) -> None:
            wire = np.ascontiguousarray(arr[piece.relative_to(box.start)], dtype=_WIRE)
            path = f"{self._base}/raw/0_1_2/{dvid_geometry(piece)}"
            self._http.request("POST", path, content=wire.reshape(-1).view(np.uint8).data)

        pieces = split_box(box, self._config.block_shape, self._piece_voxels)
        try:
            write_slabs(self._pool, post, pieces, f"write of {box} to {self.name!r}")
        except BaseException:
            self._extents.forget()  # some slabs may have landed
            raise
        self._extents.grew(box)

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

    def build_pyramid(self) -> None:
        self._http.request("POST", f"{self._base}/pyramid")

    # -- labels --------------------------------------------------------------------------
    def _get(self, path: str, *, supervoxels: bool = False, body: Any = None) -> Any:
        params = {"supervoxels": "true"} if supervoxels else None
        return self._http.request("GET", f"{self._base}/{path}", params=params, json=body).json()

    def mapping(self, supervoxels: list[int]) -> list[int]:
        ids = [int(s) for s in supervoxels]
        mapped: list[int] = self._http.request(
            "GET", f"{self._base}/mapping", params={"nolookup": "true"}, json=ids
        ).json()
        return mapped

    def index(
        self, label: int, *, supervoxels: bool = False, mutid: int | None = None
    ) -> LabelIndex:
        label = check_label(label)
        body = self.mapping([label])[0] if supervoxels else label
        if supervoxels and body == 0:
            raise InvalidRequest(f"supervoxel {label} was retired by a split")
        params: dict[str, Any] = {"format": "json"}
        if mutid is not None:
            params["mutid"] = mutid
        path = f"{self._base}/index/{check_label(body)}"
        return index_from_json(self._http.request("GET", path, params=params).json())

    def size(self, label: int, *, supervoxels: bool = False) -> int:
        return int(self._get(f"size/{check_label(label)}", supervoxels=supervoxels)["voxels"])

    def supervoxels(self, label: int) -> list[int]:
        return sorted(int(v) for v in self._get(f"supervoxels/{check_label(label)}"))

    def supervoxel_sizes(self, label: int) -> dict[int, int]:
        data = self._get(f"supervoxel-sizes/{check_label(label)}")
        pairs = zip(data["supervoxels"], data["sizes"], strict=True)
        return dict(sorted((int(s), int(n)) for s, n in pairs))

    def lastmod(self, label: int) -> dict[str, Any]:
        meta: dict[str, Any] = self._get(f"lastmod/{check_label(label)}")
        return meta

    def sparsevol(
        self,
        label: int,
        *,
        supervoxels: bool = False,
        scale: int = 0,
        within: Box | None = None,
    ) -> np.ndarray:
        params: dict[str, Any] = {"scale": scale}
        if supervoxels:
            params["supervoxels"] = "true"
        if within is not None:  # DVID's bounds are inclusive
            for axis, name in enumerate("zyx"):
                params[f"min{name}"] = within.start[axis]
                params[f"max{name}"] = within.stop[axis] - 1
        body = self._http.request(
            "GET", f"{self._base}/sparsevol/{check_label(label)}", params=params
        ).content
        return np.asarray(decode_rles(body), dtype=np.int32)

    def mesh(self, label: int) -> Triangles:
        """The body's mesh from the server's precomputed mesh view (its finest LOD)."""
        body = check_label(label, "body")
        manifest = self._http.request("GET", f"{self._meshes}/{body}.index").content
        data = self._http.request("GET", f"{self._meshes}/{body}").content
        return triangles_from_files(BodyMesh(bytes(manifest), bytes(data)))

    def bbox(self, label: int, *, supervoxels: bool = False) -> Box:
        return runs_bounds(self.sparsevol(label, supervoxels=supervoxels))

    def ids_in(self, box: Box, *, supervoxels: bool = False) -> list[int]:
        labels = np.unique(self.read(box, supervoxels=supervoxels))
        return [int(v) for v in labels.tolist() if v]

    def labels(self) -> list[int]:
        body = self._http.request("GET", f"{self._base}/listlabels").content
        return [int(v) for v in np.frombuffer(body, dtype=_WIRE).tolist()]

    def maxlabel(self) -> int:
        response = self._http.request("GET", f"{self._base}/maxlabel", params=None)
        return int(json.loads(response.content)["maxlabel"])

    def next_labels(self, count: int) -> range:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidRequest(f"count must be a positive integer, got {count!r}")
        got = self._http.request("POST", f"{self._base}/nextlabel/{count}").json()
        return range(int(got["start"]), int(got["end"]) + 1)

    def set_maxlabel(self, label: int) -> None:
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            raise InvalidRequest(f"maxlabel must be an integer label, got {label!r}")
        self._http.request("POST", f"{self._base}/maxlabel/{label}")  # the server checks

    def mutations(self, userid: str | None = None) -> list[dict[str, Any]]:
        params = None if userid is None else {"userid": userid}
        url = f"{self._base}/mutations"
        records: list[dict[str, Any]] = self._http.request("GET", url, params=params).json()
        return records

    def mutations_range(self, beg: str, end: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._get(f"mutations-range/{beg}/{end}")
        return records

    def history(self, label: int, old: str, new: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self._get(f"history/{check_label(label)}/{old}/{new}")
        return events

    def supervoxel_splits(self) -> list[Any]:
        splits: list[Any] = self._get("supervoxel-splits")
        return splits

    # -- bulk ingest ---------------------------------------------------------------------------
    def ingest_indices(self, indices: list[LabelIndex]) -> None:
        body = [index_to_json(i) for i in indices]
        self._http.request("POST", f"{self._base}/indices", params={"format": "json"}, json=body)

    def ingest_mappings(self, bodies: dict[int, int]) -> None:
        grouped: dict[int, list[int]] = {}
        for sv, body in bodies.items():
            grouped.setdefault(int(body), []).append(int(sv))
        ops = [{"mapped": b, "original": svs} for b, svs in grouped.items()]
        self._http.request("POST", f"{self._base}/mappings", params={"format": "json"}, json=ops)

    def write_blocks(self, blocks: Mapping[Vec3, np.ndarray]) -> None:
        self._post_blocks("blocks", {}, blocks)

    def ingest_blocks(self, scale: int, blocks: dict[Vec3, np.ndarray]) -> None:
        self._post_blocks("ingest-supervoxels", {"scale": str(scale)}, blocks)

    def _post_blocks(
        self, route: str, params: dict[str, str], blocks: Mapping[Vec3, np.ndarray]
    ) -> None:
        """DVID's block stream of gzipped native blocks, posted in requests of at most
        ``BYTES_PER_POST`` decoded bytes (each one transaction on the server)."""
        coords = list(blocks)
        per_post = (
            max(1, BYTES_PER_POST // max(1, next(iter(blocks.values())).nbytes)) if coords else 1
        )
        for start in range(0, len(coords), per_post):
            part = coords[start : start + per_post]
            records = [(c, gzip.compress(encode_native(blocks[c]), 1)) for c in part]
            self._http.request(
                "POST", f"{self._base}/{route}", params=params, content=encode_stream(records)
            )

    # -- mutations -------------------------------------------------------------------------
    def _mutate(self, path: str, who: Who | None, *, json_body: Any = None,
                content: bytes | None = None) -> Any:  # fmt: skip
        params = {}
        if who is not None:
            params = {k: v for k, v in (("u", who.user), ("app", who.app)) if v}
        return self._http.request(
            "POST", f"{self._base}/{path}", params=params, json=json_body, content=content
        ).json()

    def merge(self, target: int, sources: list[int], who: Who | None = None) -> int:
        body = [check_label(target, "target label"), *(int(s) for s in sources)]
        return int(self._mutate("merge", who, json_body=body)["MutationID"])

    def cleave(self, body: int, supervoxels: list[int], who: Who | None = None) -> tuple[int, int]:
        got = self._mutate(
            f"cleave/{check_label(body)}", who, json_body=[int(s) for s in supervoxels]
        )
        return int(got["CleavedLabel"]), int(got["MutationID"])

    def split_supervoxel(
        self, sv: int, runs: np.ndarray, who: Who | None = None
    ) -> tuple[int, int, int]:
        got = self._mutate(
            f"split-supervoxel/{check_label(sv, 'supervoxel')}", who, content=encode_rles(runs)
        )
        return int(got["SplitSupervoxel"]), int(got["RemainSupervoxel"]), int(got["MutationID"])

    def split(self, body: int, runs: np.ndarray, who: Who | None = None) -> tuple[int, int]:
        got = self._mutate(f"split/{check_label(body)}", who, content=encode_rles(runs))
        return int(got["label"]), int(got["MutationID"])

    def renumber(self, pairs: list[tuple[int, int]], who: Who | None = None) -> list[int]:
        flat = [int(v) for pair in pairs for v in pair]
        return [int(m) for m in self._mutate("renumber", who, json_body=flat)["MutationIDs"]]
