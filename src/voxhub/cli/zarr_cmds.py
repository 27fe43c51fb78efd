"""``voxhub export-zarr``: a volume, every level, to a sharded OME-Zarr 0.5 group."""

from __future__ import annotations

import click

from voxhub.cli.common import REF_HELP, friendly_errors, node_of, opened, store_option
from voxhub.client.labels import LabelVolume
from voxhub.client.volume import Volume
from voxhub.transfer.zarr_export import export_ome_zarr


@click.command("export-zarr", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.argument("destination")
@click.option("--supervoxels", is_flag=True, help="Labels: supervoxel ids, not bodies.")
@click.option("--overwrite", is_flag=True, help="Replace an OME-Zarr already there.")
@friendly_errors
def export_zarr_cmd(
    store: str, ref: str, name: str, destination: str, supervoxels: bool, overwrite: bool
) -> None:
    """Export image or label volume NAME at node REF, every pyramid level, to a sharded
    OME-Zarr 0.5 group at DESTINATION: a directory or s3://bucket/prefix[?endpoint=URL]
    (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Any Zarr v3 reader
    opens it (zarr-python, tensorstore, neuroglancer's zarr://)."""
    with opened(store) as hub:
        node = node_of(hub, ref)
        vol: Volume | LabelVolume
        vol = node.labels(name) if node.instances().get(name) == "labelmap" else node.volume(name)
        done = export_ome_zarr(vol, destination, supervoxels=supervoxels, overwrite=overwrite)
        click.echo(
            f"exported {name} to {done.destination}: {done.shards} shards, "
            f"{done.nbytes:,} bytes ({done.empty} all-background shards skipped)"
        )
