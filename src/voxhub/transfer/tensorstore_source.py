"""Sources read through tensorstore: neuroglancer precomputed (sharded or not; raw, jpeg,
compressed_segmentation), Zarr v2 and v3 arrays, OME-Zarr groups and N5 datasets, from a
local directory, an http(s) URL or an S3 bucket.

An S3 location is ``s3://bucket/prefix``, with ``?endpoint=...`` (an S3-compatible server:
SeaweedFS, MinIO, Ceph) and ``&region=...`` as for exports; tensorstore's ``s3`` driver
reads it, with credentials from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or its
other AWS credential sources).

Locations take neuroglancer's prefixes (``precomputed://``, ``zarr://``, ``zarr2://``,
``zarr3://``, ``n5://``) before a path or URL; without one, a local directory or URL is
recognised by its metadata file (``info``, ``zarr.json``, ``.zarray``, ``.zattrs``,
``attributes.json``). Axes are mapped to voxhub's (z, y, x): precomputed and N5 list x
first, Zarr arrays are (z, y, x) or name their axes (OME-Zarr); other axes must have a
single element.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Box, Vec3
from voxhub.optional import require

PREFIXES = {
    "precomputed://": "precomputed",
    "zarr://": "zarr",
    "zarr2://": "zarr",
    "zarr3://": "zarr",
    "n5://": "n5",
}

#: metadata file → format, probed in this order when a location has no prefix.
MARKERS = (
    ("info", "precomputed"),
    ("zarr.json", "zarr"),
    (".zarray", "zarr"),
    (".zattrs", "zarr"),
    ("attributes.json", "n5"),
)

#: tensorstore's in-memory cache (chunks, shard indices): bounded, so an import's memory
#: does not grow with the source.
CACHE_BYTES = 64 << 20


#: the query parameters an ``s3://`` location takes
S3_PARAMETERS = ("endpoint", "region")


def is_tensorstore_location(location: str) -> bool:
    """Whether ``location`` names a precomputed, Zarr, OME-Zarr or N5 source."""
    if location.startswith((*PREFIXES, "http://", "https://", "s3://")):
        return True
    return os.path.isdir(location) and any(
        os.path.exists(os.path.join(location, name)) for name, _ in MARKERS
    )


@dataclass
class _Location:
    url: str  # a tensorstore kvstore URL ending in "/" (for S3: the bucket's, see s3)
    kind: str  # precomputed | zarr | n5
    shown: str  # as the user wrote it, for messages
    s3: dict[str, Any] | None = None  # an s3 kvstore spec (endpoint, region), path "…/"

    @property
    def kvstore(self) -> str | dict[str, Any]:
        """The tensorstore kvstore spec of the location."""
        return self.url if self.s3 is None else self.s3

    def child(self, path: str) -> _Location:
        """The location of ``path`` (a folder) under this one."""
        sub = path.strip("/") + "/"
        if self.s3 is None:
            return replace(self, url=self.url + sub)
        return replace(self, url=self.url + sub, s3={**self.s3, "path": self.s3["path"] + sub})

    def read_json(self, name: str) -> Any:
        """The JSON document ``name`` under the location (``None`` when absent)."""
        ts = require("tensorstore", "importing precomputed, Zarr or N5")
        try:
            found = ts.KvStore.open(self.kvstore).result().read(name).result()
        except ValueError as e:  # tensorstore's errors: unreachable, refused, ...
            raise InvalidRequest(f"cannot read {self.shown}/{name}: {_first_line(e)}") from None
        if found.state != "value":
            return None
        try:
            return json.loads(bytes(found.value))
        except ValueError as e:
            raise InvalidRequest(f"{self.shown}/{name} is not valid JSON: {e}") from None


def _s3_spec(url: str) -> tuple[str, dict[str, Any]]:
    """``s3://bucket/prefix?endpoint=...&region=...`` as a plain URL (for messages and
    joins) and tensorstore's ``s3`` kvstore spec."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - set(S3_PARAMETERS))
    if not parts.netloc or unknown:
        raise InvalidRequest(
            f"an s3:// source is s3://bucket/prefix and takes {', '.join(S3_PARAMETERS)}; "
            f"got bucket {parts.netloc!r}, parameters {unknown}"
        )
    path = parts.path.strip("/")
    spec: dict[str, Any] = {
        "driver": "s3",
        "bucket": parts.netloc,
        "path": path + "/" if path else "",
        "aws_region": query.get("region", "us-east-1"),
    }
    if "endpoint" in query:
        spec["endpoint"] = query["endpoint"]
    return f"s3://{parts.netloc}/{spec['path']}", spec


def _locate(location: str) -> _Location:
    kind = None
    rest = location
    for prefix, name in PREFIXES.items():
        if location.startswith(prefix):
            kind, rest = name, location[len(prefix) :]
            break
    s3 = None
    if rest.startswith("s3://"):
        rest, s3 = _s3_spec(rest)
    elif "://" not in rest:
        if not os.path.exists(rest):
            raise NotFound(f"no such file or folder: {rest}")
        rest = "file://" + os.path.abspath(rest)
    loc = _Location(rest.rstrip("/") + "/", kind or "", location, s3)
    if not loc.kind:
        for name, kind in MARKERS:
            if _exists(loc, name):
                loc.kind = kind
                break
        else:
            raise NotFound(
                f"{location} holds no precomputed info, zarr.json, .zarray, .zattrs or "
                "attributes.json"
            )
    return loc


def _exists(loc: _Location, name: str) -> bool:
    ts = require("tensorstore", "importing precomputed, Zarr or N5")
    try:
        return bool(ts.KvStore.open(loc.kvstore).result().read(name).result().state == "value")
    except ValueError as e:
        raise InvalidRequest(f"cannot read {loc.shown}: {_first_line(e)}") from None


class TensorstoreSource:
    """A 3-D view (z, y, x) of a tensorstore array, its other axes fixed at 0."""

    def __init__(self, store: Any, what: str) -> None:
        domain = store.domain
        self.shape: Vec3 = (int(domain.shape[0]), int(domain.shape[1]), int(domain.shape[2]))
        self.origin: Vec3 = (
            int(domain.inclusive_min[0]),
            int(domain.inclusive_min[1]),
            int(domain.inclusive_min[2]),
        )
        self.dtype: np.dtype[Any] = np.dtype(store.dtype.numpy_dtype)
        chunk = store.chunk_layout.read_chunk.shape or self.shape
        self.chunk_shape: Vec3 = (int(chunk[0]), int(chunk[1]), int(chunk[2]))
        self.what = what
        self._store = store

    def read_box(self, box: Box) -> np.ndarray:
        o = self.origin
        part = self._store[
            o[0] + box.start[0] : o[0] + box.stop[0],
            o[1] + box.start[1] : o[1] + box.stop[1],
            o[2] + box.start[2] : o[2] + box.stop[2],
        ]
        return np.asarray(part.read().result())

    def close(self) -> None:
        pass


def open_tensorstore_source(location: str, scale: int | None) -> TensorstoreSource:
    """Open a precomputed scale, a Zarr array, an OME-Zarr level or an N5 dataset."""
    loc = _locate(location)
    if loc.kind == "precomputed":
        return _precomputed(loc, scale or 0)
    if loc.kind == "n5":
        _single_scale(loc, scale)
        meta = loc.read_json("attributes.json") or {}
        if "dimensions" not in meta:
            raise InvalidRequest(f"{location} is an N5 group, not a dataset: name the dataset")
        # N5 lists dimensions fastest first (x, y, z); voxhub's order is the reverse.
        return _open(loc, {"driver": "n5"}, axes=None, reverse=True)
    meta = loc.read_json("zarr.json")
    is_group = (
        meta.get("node_type") == "group" if meta is not None else (loc.read_json(".zarray") is None)
    )
    if is_group:
        if meta is None and loc.read_json(".zattrs") is None:
            raise InvalidRequest(f"{location} holds no zarr.json, .zarray or .zattrs: not Zarr")
        return _ome_zarr(loc, meta, scale)
    _single_scale(loc, scale)
    driver = "zarr3" if meta is not None else "zarr"
    return _open(loc, {"driver": driver}, axes=None, reverse=False)


def _single_scale(loc: _Location, scale: int | None) -> None:
    if scale not in (None, 0):
        raise InvalidRequest(f"{loc.shown} is a single array (scale 0), not scale {scale}")


def _precomputed(loc: _Location, scale: int) -> TensorstoreSource:
    info = loc.read_json("info")
    if info is None:
        raise NotFound(f"no precomputed info at {loc.shown}")
    if not isinstance(info, dict) or not isinstance(info.get("scales"), list):
        raise InvalidRequest(f"{loc.shown}/info is not a neuroglancer precomputed info")
    scales = info["scales"]
    if not 0 <= scale < len(scales):
        raise InvalidRequest(
            f"{loc.shown} has scales 0..{len(scales) - 1} "
            f"({', '.join(str(s.get('key')) for s in scales)}), not scale {scale}"
        )
    if info.get("num_channels", 1) != 1:
        raise InvalidRequest(f"{loc.shown} has {info['num_channels']} channels; import takes 1")
    spec = {"driver": "neuroglancer_precomputed", "scale_index": scale}
    return _open(loc, spec, axes=("z", "y", "x"), reverse=False)


def _ome_zarr(loc: _Location, meta: Any, scale: int | None) -> TensorstoreSource:
    if meta is not None:  # OME-Zarr 0.5: the group's zarr.json, attributes.ome
        attrs = (meta.get("attributes") or {}).get("ome") or meta.get("attributes") or {}
        driver = "zarr3"
    else:  # OME-Zarr 0.4 and earlier: Zarr v2 .zattrs
        attrs = loc.read_json(".zattrs") or {}
        driver = "zarr"
    multiscales = attrs.get("multiscales")
    if not isinstance(multiscales, list) or not multiscales:
        raise InvalidRequest(f"{loc.shown} is a Zarr group without OME-Zarr multiscales")
    datasets = multiscales[0].get("datasets") or []
    level = scale or 0
    if not 0 <= level < len(datasets):
        raise InvalidRequest(
            f"{loc.shown} has levels 0..{len(datasets) - 1} "
            f"({', '.join(str(d.get('path')) for d in datasets)}), not scale {level}"
        )
    names = [a["name"] if isinstance(a, dict) else str(a) for a in multiscales[0].get("axes", [])]
    array = loc.child(str(datasets[level]["path"]))
    return _open(array, {"driver": driver}, axes=tuple(names) or None, reverse=False)


def _open(
    loc: _Location, spec: dict[str, Any], *, axes: tuple[str, ...] | None, reverse: bool
) -> TensorstoreSource:
    ts = require("tensorstore", "importing precomputed, Zarr or N5")
    context = ts.Context({"cache_pool": {"total_bytes_limit": CACHE_BYTES}})
    try:
        store = ts.open({**spec, "kvstore": loc.kvstore}, read=True, context=context).result()
    except ValueError as e:  # tensorstore's errors: missing metadata, bad JSON, ...
        raise InvalidRequest(f"cannot open {loc.shown}: {_first_line(e)}") from None
    labels = list(store.domain.labels)
    if axes and len(axes) == store.rank:
        labels = list(axes)
    elif not any(labels):
        labels = [""] * store.rank
    zyx = []
    for name in ("z", "y", "x"):
        if name in labels:
            zyx.append(labels.index(name))
    others = [d for d in range(store.rank) if d not in zyx]
    if len(zyx) != 3:  # unnamed axes: the last three (zarr) or the first three (N5)
        if store.rank < 3:
            raise InvalidRequest(f"{loc.shown} must be 3-D (z, y, x), got shape {store.shape}")
        zyx = [2, 1, 0] if reverse else [store.rank - 3, store.rank - 2, store.rank - 1]
        others = [d for d in range(store.rank) if d not in zyx]
    extra = [d for d in others if store.shape[d] != 1]
    if extra:
        raise InvalidRequest(
            f"{loc.shown} must be 3-D (z, y, x), got shape {tuple(store.shape)}: axes "
            f"{extra} hold more than one element"
        )
    view = store[ts.d[tuple(others)][tuple(int(store.domain.inclusive_min[d]) for d in others)]]
    remaining = [d for d in range(store.rank) if d not in others]
    view = view[ts.d[tuple(remaining.index(d) for d in zyx)].transpose[:]]
    return TensorstoreSource(view, loc.shown)


def _first_line(e: Exception) -> str:
    return str(e).split(" [tensorstore_spec=")[0]
