"""``voxhub labels create|import|merge|cleave|info``: segmentations (labelmap instances)."""

from __future__ import annotations

import click

from voxhub.cli.common import (
    REF_HELP,
    friendly_errors,
    label_ids,
    node_of,
    opened,
    store_option,
    triple,
)
from voxhub.cli.import_run import import_options, run_import

#: How many supervoxel ids ``labels info REF NAME BODY`` prints before "...".
SHOWN_SUPERVOXELS = 20


@click.group(epilog=REF_HELP)
def labels() -> None:
    """Segmentations: uint64 supervoxels grouped into bodies (DVID's labelmap)."""


@labels.command("create", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.option("--block-size", default="64,64,64", show_default=True, help="z,y,x")
@click.option("--voxel-size", default="8,8,8", show_default=True, help="z,y,x")
@click.option("--units", default="nanometers", show_default=True)
@click.option(
    "--scales",
    default=0,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Label pyramid levels kept up to date above scale 0.",
)
@click.option("--anisotropic", is_flag=True, help="Downsample x and y only.")
@friendly_errors
def create(
    store: str,
    ref: str,
    name: str,
    block_size: str,
    voxel_size: str,
    units: str,
    scales: int,
    anisotropic: bool,
) -> None:
    """Create segmentation NAME in the repo of the open node REF."""
    shape = triple(block_size, "--block-size")
    size = triple(voxel_size, "--voxel-size", float)
    with opened(store) as hub:
        lv = node_of(hub, ref).create_labels(
            name,
            block_shape=shape,
            voxel_size=size,
            voxel_units=units,
            max_scale=scales,
            anisotropic=anisotropic,
        )
        click.echo(repr(lv))


@labels.command("import", epilog=REF_HELP)
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
    """Import supervoxel ids from SOURCE (as for `voxhub import`; unsigned integers up to
    uint64, kept as they are, or signed ones without negative values) into segmentation
    NAME at the open node REF. Each supervoxel starts as its own body. Run an interrupted
    import again to resume it."""
    with opened(store) as hub:
        lv = node_of(hub, ref).labels(name)
        shape, _ = run_import(
            lv, source, offset=offset, scale=scale, no_resume=no_resume, labels=True
        )
        click.echo(f"imported {shape} (z,y,x); max label {lv.maxlabel()}")


@labels.command("merge", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.argument("target")
@click.argument("others", nargs=-1, required=True)
@click.option("--user", "-u", default="", help="Recorded with the mutation.")
@friendly_errors
def merge(store: str, ref: str, name: str, target: str, others: tuple[str, ...], user: str) -> None:
    """Merge bodies OTHERS into body TARGET of segmentation NAME at the open node REF;
    prints the mutation id."""
    (into,) = label_ids((target,), "TARGET")
    bodies = label_ids(others, "OTHERS")
    with opened(store) as hub:
        done = node_of(hub, ref).labels(name).merge(into, bodies, user=user, app="voxhub-cli")
        click.echo(done.mutation_id)


@labels.command("cleave", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.argument("body")
@click.argument("supervoxels", nargs=-1, required=True)
@click.option("--user", "-u", default="", help="Recorded with the mutation.")
@friendly_errors
def cleave(
    store: str, ref: str, name: str, body: str, supervoxels: tuple[str, ...], user: str
) -> None:
    """Move SUPERVOXELS of BODY to a new body of segmentation NAME at the open node REF;
    prints the new body's id."""
    (source,) = label_ids((body,), "BODY")
    svs = label_ids(supervoxels, "SUPERVOXELS")
    with opened(store) as hub:
        lv = node_of(hub, ref).labels(name)
        click.echo(lv.cleave(source, svs, user=user, app="voxhub-cli").cleaved_body)


@labels.command("info", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.argument("body", required=False)
@friendly_errors
def info(store: str, ref: str, name: str, body: str | None) -> None:
    """Extents and largest id of segmentation NAME at node REF, or with BODY: the body's
    size in voxels, bounding box and supervoxels."""
    with opened(store) as hub:
        lv = node_of(hub, ref).labels(name)
        if body is None:
            click.echo(f"{name}: labelmap, blocks {lv.block_shape} (z,y,x)")
            click.echo(f"extents {lv.extents(0)}")
            click.echo(f"max label {lv.maxlabel()}")
            return
        (label,) = label_ids((body,), "BODY")
        svs = lv.supervoxels(label)
        shown = " ".join(str(s) for s in svs[:SHOWN_SUPERVOXELS])
        more = f" ... ({len(svs)} in all)" if len(svs) > SHOWN_SUPERVOXELS else ""
        click.echo(f"body {label}: {lv.size(label)} voxels, bbox {lv.bbox(label)}")
        click.echo(f"supervoxels: {shown}{more}")
