"""DVID's ``?roi=`` on voxel reads and writes, which voxhub cannot honour.

DVID masks ``raw`` (and ``isotropic``) reads and limits ``POST raw`` to the blocks of an
``roi`` data instance named in the query. voxhub has no roi datatype, so no such
instance exists: answering without the mask would hand back (or overwrite) voxels the
client meant to exclude. The request is refused instead, as DVID refuses an ROI it
cannot find.
"""

from __future__ import annotations

from starlette.requests import Request

from voxhub.errors import NotFound


def refuse_roi(request: Request) -> None:
    """404 if the request names a ``?roi=`` (see the module doc)."""
    name = request.query_params.get("roi")
    if name is not None:
        raise NotFound(
            f"roi {name!r}: no such ROI instance (voxhub has no roi datatype, so voxels "
            "cannot be masked by one); leave out ?roi="
        )
