"""Bulk import and export of volumes: TIFF stacks, folders of PNG/TIFF slices, HDF5, .npy;
export to sharded neuroglancer precomputed (folder or S3).

Data moves in z-slabs one block tall, so memory stays bounded whatever the volume size,
and every slab is one atomic write.
"""

from voxhub.transfer.export import export_volume
from voxhub.transfer.precomputed_export import export_precomputed
from voxhub.transfer.sources import open_source
from voxhub.transfer.volume_import import import_volume

__all__ = ["export_precomputed", "export_volume", "import_volume", "open_source"]
