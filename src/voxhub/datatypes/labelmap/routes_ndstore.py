"""ndstore and BossDB URLs over voxhub labelmap instances: cutouts, ids and bounding boxes.

:mod:`voxhub.server.ndstore` routes the URLs; this module holds what is particular to a
labelmap channel (ndstore's "annotation" channel): :class:`LabelChannel`, which the
``labelmap`` registry hook (``Datatype.ndstore``) opens. Everything here blocks (it reads
the store), so the server calls it from the thread pool.

* **Cutouts** (``npz hdf5 blosc raw tiff``) hold *body* ids as uint64, read through the
  mapping: ndstore had no supervoxels, so there is no ``?supervoxels`` here. ``hdf5``
  names the channel type ``annotation``, as ndstore did for label channels.
* **Slices** (``xy xz yz``) are RGBA PNGs false-coloured by id, as ndstore drew annotation
  slices: background (0) is transparent, every other id an opaque colour hashed from all
  64 bits of the id (:func:`false_colour`). A PNG cannot hold uint64 ids; ask ``npz``.
* **POST** ``npz blosc hdf5`` writes *supervoxel* ids at resolution 0. The body may be
  uint64 or uint32 (ndstore's two annotation dtypes); uint32 is widened, anything else
  gets ndstore's "Wrong datatype in POST". Zeros are written too, as for image channels.
* ``…/id/{res}/{x}/{y}/{z}/`` answers the body id at that voxel as decimal text
  (``text/plain``, no newline); ``…/ids/{res}/{x0,x1}/{y0,y1}/{z0,z1}/`` the unique
  nonzero body ids of the box, ascending, comma-separated, empty if there are none.
  The reference gives ndstore's services but no byte-exact bodies; these are the plain
  forms its clients parsed (``int(text)``, ``text.split(",")``).
* ``/sd/{token}/{channel}/{id}/boundingbox/{res}/`` is ndstore's RAMON HDF5 reply: a
  top-level group named by the decimal id holding ``RESOLUTION`` (int), ``XYZOFFSET`` and
  ``XYZDIMENSION`` (three int64 each, x, y, z). ndstore's ``ANNOTATION_TYPE`` and
  ``METADATA`` are left out: voxhub keeps no RAMON metadata.
* ``/v1/boundingbox/{coll}/{exp}/{chan}/{res}/{id}/?type=loose|tight`` is BossDB's:
  ``{"x_range": [a, b], "y_range": …, "z_range": …, "t_range": [0, 1]}``, half-open.
  **coll** is the repo (alias or root UUID prefix, as in an ndstore token), **exp** the
  branch whose leaf is read (so ``/v1/boundingbox/demo/master/seg/…`` reads master's
  leaf), **chan** the labelmap. ``type`` defaults to ``loose``, as in BossDB.

Bounding boxes come from the label index, so they always describe the scale-0 voxels.
``tight`` is the smallest box holding every voxel of the body; ``loose`` the union of the
blocks holding it (BossDB's cuboid-aligned box, with voxhub's blocks as the cuboids). At
``res > 0`` either box is expressed at that level as the box covering it (start floored,
stop rounded up by the level's factor), which may be a voxel larger than a box computed
from the downsampled labels, never smaller. id 0 is refused (400), an id with no voxels
at the version is unknown (404).
"""

from __future__ import annotations

import io
from typing import Any

import h5py
import numpy as np
from PIL import Image

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.opening import open_label_instance
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire import ndstore_bodies as nd_bodies
from voxhub.datatypes.wire.ndstore_face import BBOX_TYPES, NdstoreChannel, check_inside
from voxhub.datatypes.wire.url_geometry import describe_xyz
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import BlockGrid, Box
from voxhub.versioning.records import InstanceInfo

LABEL_DTYPE = np.dtype(np.uint64)
#: dtypes a labelmap POST body may hold, in the order they are tried
POST_DTYPES = (np.dtype(np.uint64), np.dtype(np.uint32))
#: odd 64-bit constant (2**64 / golden ratio): multiplying by it spreads every id bit
_MIX = np.uint64(0x9E3779B97F4A7C15)


def read_bodies(instance: LabelInstance, res: int, box: Box, limit: int, what: str) -> np.ndarray:
    """Body ids (uint64) of ``box`` at ``res``, after the bounds and size checks."""
    check_inside(box, instance.extents(res), instance.name, res, what)
    bodies.check_size(box.size * LABEL_DTYPE.itemsize, limit, what)
    return instance.read(box, res)


# -- id services -------------------------------------------------------------------------
def voxel_id(instance: LabelInstance, res: int, box: Box, limit: int) -> str:
    """``…/id/…``: the body id of the one voxel ``box`` holds, as decimal text."""
    return str(int(read_bodies(instance, res, box, limit, "voxel").reshape(-1)[0]))


def ids_text(instance: LabelInstance, res: int, box: Box, limit: int) -> str:
    """``…/ids/…``: the unique nonzero body ids of ``box``, ascending, comma-separated."""
    labels = np.unique(read_bodies(instance, res, box, limit, "ids box"))
    # tolist() gives Python ints straight from uint64: no float or int64 on the way
    return ",".join(str(v) for v in labels.tolist() if v)


# -- bounding boxes ----------------------------------------------------------------------
def label_box(instance: LabelInstance, label: int, res: int, kind: str = "tight") -> Box:
    """The ``tight`` or ``loose`` box of body ``label`` at ``res`` (module doc)."""
    if kind == "tight":
        box = instance.bbox(label)
    elif kind == "loose":
        grid = BlockGrid(instance.config.block_shape)
        blocks = instance.index(label).blocks_of()
        if not blocks:
            raise NotFound(f"label {label} has no voxels at this version")
        box = grid.block_box(blocks[0])
        for coord in blocks[1:]:
            box = box.union(grid.block_box(coord))
    else:
        raise InvalidRequest(f"bounding box type {kind!r} is not one of {', '.join(BBOX_TYPES)}")
    return box.downsample(instance.config.scale_factor(res))


def bbox_hdf5(label: int, box: Box, res: int) -> bytes:
    """ndstore's bounding-box reply: group ``{label}`` with XYZOFFSET and XYZDIMENSION."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        group = f.create_group(str(label))
        group.create_dataset("RESOLUTION", data=np.int64(res))
        group.create_dataset("XYZOFFSET", data=np.array(box.start[::-1], np.int64))
        group.create_dataset("XYZDIMENSION", data=np.array(box.shape[::-1], np.int64))
    return buf.getvalue()


def bossdb_json(box: Box) -> dict[str, Any]:
    """BossDB's bounding-box JSON (half-open ranges; voxhub has one time point)."""
    return {
        "x_range": [box.start[2], box.stop[2]],
        "y_range": [box.start[1], box.stop[1]],
        "z_range": [box.start[0], box.stop[0]],
        "t_range": [0, 1],
    }


# -- cutout bodies -----------------------------------------------------------------------
def false_colour(ids: np.ndarray) -> np.ndarray:
    """RGBA uint8 of a 2-D id array: 0 transparent, other ids an opaque hashed colour."""
    ids = np.asarray(ids, np.uint64)
    with np.errstate(over="ignore"):
        mixed = ids * _MIX  # wraps mod 2**64, which is the point
    rgba = np.empty((*ids.shape, 4), np.uint8)
    for channel, shift in enumerate((56, 48, 40)):
        rgba[..., channel] = (mixed >> np.uint64(shift)) & np.uint64(0xFF)
    rgba[..., 3] = 255
    rgba[ids == 0] = 0
    return rgba


def _hdf5(volume: np.ndarray, channel: str) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        group = f.create_group(channel)
        group.create_dataset("CUTOUT", data=volume, compression="gzip", compression_opts=1)
        group.create_dataset("CHANNELTYPE", data="annotation")
        group.create_dataset("DATATYPE", data=str(volume.dtype))
    return buf.getvalue()


def _png(plane: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(false_colour(plane), "RGBA").save(buf, format="PNG")
    return buf.getvalue()


_SLICE_AXES = {"xy": 0, "xz": 1, "yz": 2}


def encode(fmt: str, volume: np.ndarray, channel: str) -> tuple[bytes, str]:
    """``(body, media type)`` of a labelmap cutout or slice in ``fmt``."""
    if fmt == "hdf5":
        return _hdf5(volume, channel), "product/hdf5"
    if fmt in _SLICE_AXES:
        return _png(np.take(volume, 0, axis=_SLICE_AXES[fmt])), "image/png"
    encoder, media_type = nd_bodies.ENCODERS[fmt]
    return encoder(volume, channel), media_type


def decode_post(fmt: str, body: bytes, box: Box, channel: str, limit: int) -> np.ndarray:
    """The supervoxel ids (uint64) of a labelmap POST body; uint64 or uint32 accepted."""
    first: InvalidRequest | None = None
    for dtype in POST_DTYPES:
        expected = nd_bodies.Expected(
            shape=box.shape, dtype=dtype, channel=channel, box_text=describe_xyz(box), limit=limit
        )
        try:
            return nd_bodies.decode(fmt, body, expected).astype(LABEL_DTYPE, copy=False)
        except InvalidRequest as e:
            # a uint32 body fails the uint64 reading (and vice versa); keep the first error
            first = first or e
    assert first is not None
    if str(first).startswith("Wrong datatype"):
        raise InvalidRequest(
            f"Wrong datatype in POST: labelmap channel {channel!r} takes uint64 or uint32 "
            f"ids ({first})"
        )
    raise first


class LabelChannel(NdstoreChannel):
    """A labelmap instance at a node: body-id cutouts, id services and bounding boxes."""

    def __init__(self, instance: LabelInstance, info: InstanceInfo) -> None:
        super().__init__(info, instance.config.max_scale)
        self.instance = instance

    def read(self, fmt: str, box: Box, res: int, limit: int) -> tuple[bytes, str]:
        return encode(fmt, read_bodies(self.instance, res, box, limit, "cutout"), self.name)

    def check_write(self, box: Box, limit: int) -> None:
        bodies.check_size(box.size * LABEL_DTYPE.itemsize, limit, "write")
        self.instance.view.check_writable()

    def write(self, fmt: str, body: bytes, box: Box, limit: int) -> None:
        self.instance.write(box.start, decode_post(fmt, body, box, self.name, limit))

    def voxel_id(self, box: Box, res: int, limit: int) -> str:
        return voxel_id(self.instance, res, box, limit)

    def ids(self, box: Box, res: int, limit: int) -> str:
        return ids_text(self.instance, res, box, limit)

    def bbox_hdf5(self, label: int, res: int) -> bytes:
        return bbox_hdf5(label, label_box(self.instance, label, res), res)

    def bossdb_bbox(self, label: int, res: int, kind: str) -> dict[str, Any]:
        return bossdb_json(label_box(self.instance, label, res, kind))


def open_label_channel(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, limit: int
) -> LabelChannel:
    """The registry hook: labelmap ``info`` at ``node_uuid`` as an ndstore channel."""
    return LabelChannel(open_label_instance(access, node_uuid, info), info)
