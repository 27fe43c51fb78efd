"""The ``roi`` datatype: DVID's regions of interest, span lists of blocks.

Other datatypes use :func:`~voxhub.datatypes.roi.instance.open_roi_reader` and
:func:`~voxhub.datatypes.roi.query.roi_contains`; ``?roi=`` on voxel reads uses
:mod:`voxhub.datatypes.roi.masking`.
"""

from voxhub.datatypes.roi.query import RoiReader, reader_for, roi_contains

__all__ = ["RoiReader", "reader_for", "roi_contains"]
