"""labelmap ``isotropic`` cutouts and ``pseudocolor`` slices (see :mod:`.routes`).

* ``GET isotropic/0_1_2/{size}/{offset}``: the labels of an isotropic box, resampled by
  nearest neighbour from the stored voxels at ``?scale=`` (the voxel size of that level),
  as voxhub's image ``isotropic`` does (:mod:`voxhub.datatypes.imageblk.sampling`); where
  voxels are cubic that is ``raw``. Nearest neighbour never invents a label. DVID answers
  3-D ``isotropic`` on labels exactly as ``raw`` (no resampling) and 2-D ones as PNGs of
  the raw label bytes; voxhub's labelmap serves 3-D only, as its ``raw`` does.
* ``GET pseudocolor/{dims}/{size}/{offset}``: a 2-D slice of body ids at ``?scale=`` as
  an RGBA PNG, colored exactly as DVID colors it (:mod:`.pseudocolor`).
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from voxhub.datatypes.imageblk import sampling
from voxhub.datatypes.labelmap.pseudocolor import pseudocolor
from voxhub.datatypes.labelmap.routes import (
    OCTET,
    config_of,
    open_labels,
    scale_of,
    supervoxels_flag,
)
from voxhub.datatypes.roi.instance import open_roi_reader
from voxhub.datatypes.roi.masking import Read, mask_outside, masked_reads
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.budget import admit
from voxhub.datatypes.wire.context import InstanceContext
from voxhub.datatypes.wire.roi_mask import roi_name
from voxhub.datatypes.wire.url_geometry import Dims, dvid_box, parse_dims
from voxhub.errors import InvalidRequest

_VOXEL_BYTES = 8
_RGBA_BYTES = 4
ISOTROPIC_COMPRESSIONS = ("raw", "lz4", "gzip")


async def get_isotropic(request: Request, ctx: InstanceContext) -> Response:
    """Labels of an isotropic 3-D box (nearest neighbour at ?scale=): uint64, z-y-x.

    Body ids, or supervoxel ids with ?supervoxels=true; ?compression=lz4|gzip."""
    params = request.path_params
    dims = parse_dims(params["dims"])
    if not dims.is_3d:
        raise InvalidRequest(
            f"dims {params['dims']!r}: labelmap isotropic serves 3-D (0_1_2) boxes only"
        )
    box = dvid_box(dims, params["size"], params["offset"])
    config = config_of(ctx)
    scale = scale_of(request, config)
    sv = supervoxels_flag(request)
    compression = (request.query_params.get("compression") or "raw").lower()
    compression = "raw" if compression == "uncompressed" else compression
    if compression not in ISOTROPIC_COMPRESSIONS:
        raise InvalidRequest(f"isotropic compression {compression!r} is not one of lz4, gzip")
    factor = config.scale_factor(scale)
    voxel_size = [v * f for v, f in zip(config.voxel_size, factor, strict=True)]
    source, _ = sampling.isotropic_sources(box, voxel_size)
    for what, b in (("isotropic cutout", box), ("isotropic source box", source)):
        bodies.check_size(b.size * _VOXEL_BYTES, ctx.max_request_bytes, what)
    admit(request, (box.size + source.size) * _VOXEL_BYTES, "isotropic cutout")

    roi = roi_name(request)

    def run() -> bytes:
        instance = open_labels(ctx)
        read: Read = functools.partial(instance.read, scale=scale, supervoxels=sv)
        if roi is not None:  # voxels outside the named ROI read as 0
            read = masked_reads(read, open_roi_reader(ctx.access, ctx.node_uuid, roi), factor)
        volume = sampling.read_isotropic(read, box, voxel_size)
        data = np.ascontiguousarray(volume, dtype="<u8").tobytes()
        return data if compression == "raw" else bodies.compress(data, compression)

    return Response(await run_in_threadpool(run), media_type=OCTET)


async def get_pseudocolor(request: Request, ctx: InstanceContext) -> Response:
    """A 2-D slice of body ids at ?scale= as an RGBA PNG, each label colored as DVID does.

    dims xy, xz or yz (columns the first axis, rows the second); 400 for 3-D."""
    params = request.path_params
    dims = parse_dims(params["dims"])
    if dims.is_3d:
        raise InvalidRequest("pseudocolor serves 2-D slices only (dims xy, xz or yz)")
    box = dvid_box(dims, params["size"], params["offset"])
    scale = scale_of(request, config_of(ctx))
    bodies.check_size(box.size * _VOXEL_BYTES, ctx.max_request_bytes, "pseudocolor slice")
    admit(request, box.size * (_VOXEL_BYTES + _RGBA_BYTES), "pseudocolor slice")

    roi = roi_name(request)

    def run() -> bytes:
        volume = open_labels(ctx).read(box, scale)
        if roi is not None:
            mask = open_roi_reader(ctx.access, ctx.node_uuid, roi)
            volume = mask_outside(volume, mask, box, config_of(ctx).scale_factor(scale))
        image = _plane(volume, dims)
        buf = io.BytesIO()
        Image.fromarray(pseudocolor(image), "RGBA").save(buf, format="PNG")
        return buf.getvalue()

    return Response(await run_in_threadpool(run), media_type="image/png")


def _plane(volume: np.ndarray, dims: Dims) -> np.ndarray:
    """The 2-D image of a one-voxel-thick box: columns the first axis of ``dims``, rows
    the second (xy: rows y; xz and yz: rows z)."""
    if dims.axes == (0, 1):
        image: np.ndarray = volume[0]
    elif dims.axes == (0, 2):
        image = volume[:, 0, :]
    else:
        image = volume[:, :, 0]
    return image
