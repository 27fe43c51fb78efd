"""``voxhub volume create|info``, ``voxhub import`` and ``voxhub export``."""

from __future__ import annotations

import click

from voxhub.cli.common import REF_HELP, friendly_errors, node_of, opened, store_option, triple
from voxhub.cli.import_run import import_options, run_import
from voxhub.cli.zarr_cmds import ZARR, export_zarr
from voxhub.geometry import Box
from voxhub.transfer import export_precomputed, export_volume

PRECOMPUTED = "precomputed://"


@click.group()
def volume() -> None:
    """Image volumes."""


@volume.command("create", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.option(
    "--dtype",
    default="uint8",
    show_default=True,
    type=click.Choice(["uint8", "uint16", "uint32", "uint64", "float32"]),
)
@click.option("--block-shape", default="64,64,64", show_default=True, help="z,y,x")
@click.option("--voxel-size", default="1,1,1", show_default=True, help="z,y,x")
@click.option("--units", default="nanometers", show_default=True)
@click.option(
    "--codec",
    default="zstd",
    show_default=True,
    type=click.Choice(["zstd", "raw", "lz4", "gzip", "jpeg"]),
)
@click.option(
    "--scales",
    default=0,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Pyramid levels kept up to date above scale 0.",
)
@click.option("--anisotropic", is_flag=True, help="Downsample x and y only.")
@click.option("--unversioned", is_flag=True, help="One copy shared by every node.")
@friendly_errors
def create(
    store: str,
    ref: str,
    name: str,
    dtype: str,
    block_shape: str,
    voxel_size: str,
    units: str,
    codec: str,
    scales: int,
    anisotropic: bool,
    unversioned: bool,
) -> None:
    """Create image volume NAME in the repo of node REF (an open node)."""
    with opened(store) as hub:
        vol = node_of(hub, ref).create_volume(
            name,
            dtype,
            block_shape=triple(block_shape, "--block-shape"),
            voxel_size=triple(voxel_size, "--voxel-size", float),
            voxel_units=units,
            codec=codec,
            max_scale=scales,
            anisotropic=anisotropic,
            versioned=not unversioned,
        )
        click.echo(repr(vol))


@volume.command("info", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@friendly_errors
def info(store: str, ref: str, name: str) -> None:
    """Settings and extents of volume NAME at node REF."""
    with opened(store) as hub:
        vol = node_of(hub, ref).volume(name)
        c = vol.config
        click.echo(f"{name}: {c.dtype}, blocks {c.block_shape} (z,y,x), codec {c.codec}")
        click.echo(
            f"voxel size {c.voxel_size} {c.voxel_units}, scales 0..{c.max_scale}"
            f"{' (anisotropic)' if c.anisotropic else ''}"
        )
        for k in range(c.max_scale + 1):
            click.echo(f"  scale {k}: extents {vol.extents(k)}")


@click.command("import", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.argument("source")
@import_options
@friendly_errors
def import_cmd(
    store: str,
    ref: str,
    name: str,
    source: str,
    offset: str | None,
    scale: int | None,
    no_resume: bool,
) -> None:
    """Import SOURCE into image volume NAME at open node REF.

    \b
    SOURCE: a .npy file, a TIFF stack (multi-page file or folder of TIFF/PNG slices),
    file.h5:/dataset, or a neuroglancer precomputed, Zarr v2/v3, OME-Zarr or N5
    directory or http(s) URL (neuroglancer's precomputed://, zarr://, n5:// prefixes
    work too). Run an interrupted import again to resume it: blocks already stored
    with the source's voxels are kept, not rewritten.
    """
    with opened(store) as hub:
        vol = node_of(hub, ref).volume(name)
        run_import(vol, source, offset=offset, scale=scale, no_resume=no_resume)


@click.command("export", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.argument("destination")
@click.option("--box", default=None, help="z0,y0,x0,z1,y1,x1 (default: the extents)")
@click.option("--scale", default=0, show_default=True, type=click.IntRange(0, 20))
@click.option("--overwrite", is_flag=True, help="Replace DESTINATION if it exists.")
@click.option(
    "--supervoxels", is_flag=True, help="precomputed:// or zarr:// of labels: supervoxel ids."
)
@friendly_errors
def export_cmd(
    store: str,
    ref: str,
    name: str,
    destination: str,
    box: str | None,
    scale: int,
    overwrite: bool,
    supervoxels: bool,
) -> None:
    """Export volume NAME at node REF to DESTINATION (.tif, .npy, file.h5[:/dataset]), or
    image or label instance NAME to sharded neuroglancer precomputed, every scale:
    DESTINATION precomputed://FOLDER or precomputed://s3://bucket/prefix?endpoint=...,
    or to a sharded OME-Zarr 0.5 group: zarr://FOLDER or zarr://s3://bucket/prefix?...

    HDF5 datasets are chunked like the volume's blocks, gzip-compressed, and carry
    voxel_size, voxel_units, offset (z,y,x) and scale attributes. An existing file,
    HDF5 dataset, precomputed volume or Zarr group is replaced only with --overwrite: a
    file or dataset only once the export completes; a precomputed or Zarr export loses its
    info or zarr.json first and gets the new one last, so an interrupted one is no volume
    until the same command is run again.
    """
    if destination.startswith(PRECOMPUTED):
        if box is not None or scale:
            raise click.BadParameter("precomputed:// exports every scale, whole: no --box/--scale")
        with opened(store) as hub:
            node = node_of(hub, ref)
            target = destination.removeprefix(PRECOMPUTED)
            result = export_precomputed(
                node, name, target, supervoxels=supervoxels, overwrite=overwrite
            )
        click.echo(
            f"exported {result.blocks} blocks in {result.shards} shards "
            f"({result.bytes / 1e6:.1f} MB, {result.seconds:.1f} s) to {result.destination}"
        )
        return
    if destination.startswith(ZARR):
        if box is not None or scale:
            raise click.BadParameter("zarr:// exports every scale, whole: no --box/--scale")
        export_zarr(store, ref, name, destination, supervoxels=supervoxels, overwrite=overwrite)
        return
    if supervoxels:
        raise click.BadParameter("--supervoxels is for precomputed:// exports of labels")
    region = None
    if box is not None:
        try:
            v = [int(p) for p in box.split(",")]
        except ValueError:
            v = []
        if len(v) != 6:
            raise click.BadParameter(f"--box needs 6 integers z0,y0,x0,z1,y1,x1, got {box!r}")
        region = Box((v[0], v[1], v[2]), (v[3], v[4], v[5]))
    with opened(store) as hub:
        vol = node_of(hub, ref).volume(name)
        done = export_volume(vol, destination, box=region, scale=scale, overwrite=overwrite)
        click.echo(f"exported {done} to {destination}")
