"""DVID's ``?roi=<name>`` on voxel reads and writes, as the query names it.

Reads (image and labelmap ``raw``, ``isotropic``, labelmap ``pseudocolor``) mask their
voxels with the named roi instance (:mod:`voxhub.datatypes.roi.masking` does it; this
module belongs to no datatype, so it only reads the query). ``POST raw?roi=`` is refused:
DVID then writes only the volume's blocks inside the ROI, and voxhub does not (yet) — a
write that silently wrote voxels outside the ROI the client named would be worse.
"""

from __future__ import annotations

from starlette.requests import Request

from voxhub.errors import InvalidRequest


def roi_name(request: Request) -> str | None:
    """The roi instance ``?roi=`` names (``None`` when absent or empty, as DVID)."""
    return request.query_params.get("roi") or None


def refuse_roi_write(request: Request) -> None:
    """400 if a voxel write names ``?roi=`` (see the module doc)."""
    name = roi_name(request)
    if name is not None:
        raise InvalidRequest(
            f"roi {name!r}: POST raw limited to an ROI is not supported; leave out ?roi= "
            "(or write only the voxels you mean to change)"
        )
