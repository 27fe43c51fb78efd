"""``voxhub export REF NAME zarr://DESTINATION``: a volume, every level, to a sharded
OME-Zarr 0.5 group (a folder or ``s3://bucket/prefix?endpoint=...``)."""

from __future__ import annotations

import click

from voxhub.cli.common import node_of, opened
from voxhub.client.labels import LabelVolume
from voxhub.client.volume import Volume
from voxhub.transfer.zarr_export import export_ome_zarr

ZARR = "zarr://"


def export_zarr(
    store: str, ref: str, name: str, destination: str, *, supervoxels: bool, overwrite: bool
) -> None:
    """Export image or label volume ``name`` at ``ref`` to ``zarr://DESTINATION``."""
    with opened(store) as hub:
        node = node_of(hub, ref)
        vol: Volume | LabelVolume
        vol = node.labels(name) if node.instances().get(name) == "labelmap" else node.volume(name)
        done = export_ome_zarr(
            vol, destination.removeprefix(ZARR), supervoxels=supervoxels, overwrite=overwrite
        )
    click.echo(
        f"exported {name} to {done.destination}: {done.shards} shards, "
        f"{done.nbytes / 1e6:.1f} MB ({done.empty} all-background shards skipped)"
    )
