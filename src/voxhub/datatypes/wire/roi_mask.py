"""DVID's ``?roi=<name>`` on voxel reads and writes, as the query names it.

Reads (image and labelmap ``raw``, ``isotropic``, labelmap ``pseudocolor``) mask their
voxels with the named roi instance (:mod:`voxhub.datatypes.roi.masking` does it; this
module belongs to no datatype, so it only reads the query). ``POST raw?roi=`` writes only
the voxels inside the ROI, the others keeping their stored values (the datatypes' masked
writes, in the write's transaction).
"""

from __future__ import annotations

from starlette.requests import Request


def roi_name(request: Request) -> str | None:
    """The roi instance ``?roi=`` names (``None`` when absent or empty, as DVID)."""
    return request.query_params.get("roi") or None
