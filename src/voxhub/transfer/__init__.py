"""Bulk import and export of volumes: TIFF stacks, folders of PNG/TIFF slices, HDF5, .npy;
imports also from neuroglancer precomputed, Zarr v2/v3, OME-Zarr and N5 (dir or http);
exports also to sharded neuroglancer precomputed and sharded OME-Zarr (folder or S3).

Imports run as block-aligned tasks (:func:`plan_import`, :func:`run_import_task`) that
read the source box by box, so memory stays bounded whatever the section size, and a
re-run skips what an interrupted run wrote. Exports move z-slabs one block tall.
"""

from voxhub.transfer.export import export_volume
from voxhub.transfer.import_tasks import ImportTask, plan_import, run_import_task
from voxhub.transfer.precomputed_export import export_precomputed
from voxhub.transfer.sources import Source, open_source
from voxhub.transfer.volume_import import ImportProgress, import_volume
from voxhub.transfer.zarr_export import export_ome_zarr

__all__ = [
    "ImportProgress",
    "ImportTask",
    "Source",
    "export_ome_zarr",
    "export_precomputed",
    "export_volume",
    "import_volume",
    "open_source",
    "plan_import",
    "run_import_task",
]
