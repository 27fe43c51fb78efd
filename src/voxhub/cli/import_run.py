"""What ``voxhub import`` and ``voxhub labels import`` share: open the source, run the
import, and when it stops early (Ctrl-C, an error) say what was kept and how to resume."""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from voxhub.cli.common import triple
from voxhub.errors import InvalidRequest
from voxhub.transfer import ImportProgress, import_volume, open_source
from voxhub.transfer.import_tasks import Target

SOURCE_HELP = (
    "SOURCE: a .npy file, a TIFF stack (multi-page file or folder of TIFF/PNG slices), "
    "file.h5:/dataset, or a neuroglancer precomputed, Zarr v2/v3, OME-Zarr or N5 "
    "directory, http(s) URL or s3://bucket/prefix?endpoint=... (neuroglancer's "
    "precomputed://, zarr://, n5:// prefixes "
    "are taken too). An interrupted import is resumed by running the same command again: "
    "blocks already stored with the source's voxels are kept, not rewritten."
)


def import_options(fn: Any) -> Any:
    """The options every import command takes."""
    fn = click.option(
        "--offset", default=None, help="z,y,x of the first voxel (default: the source's own)"
    )(fn)
    fn = click.option(
        "--scale",
        default=None,
        type=click.IntRange(0, 40),
        help="Level of a multiscale source: precomputed scale index or OME-Zarr dataset.",
    )(fn)
    return click.option(
        "--no-resume", is_flag=True, help="Rewrite every block, even one stored already."
    )(fn)


def run_import(
    target: Target,
    location: str,
    *,
    offset: str | None,
    scale: int | None,
    no_resume: bool,
    labels: bool = False,
) -> tuple[Any, ImportProgress]:
    """Import ``location`` into ``target``; returns the source's shape and the counts."""
    start = None if offset is None else triple(offset, "--offset")
    source = open_source(location, scale=scale)
    counts = ImportProgress()
    try:
        dtype = None
        if labels:
            if source.dtype.kind not in "ui":
                raise InvalidRequest(f"{location} holds {source.dtype} values; labels are integers")
            dtype = np.dtype(np.uint64)
        import_volume(
            target, source, offset=start, dtype=dtype, resume=not no_resume, counts=counts
        )
    except BaseException:
        if counts.done:
            click.echo(
                f"import stopped after {counts.done} of {counts.blocks} blocks "
                f"({counts.written} written now, {counts.kept} kept from an earlier run); "
                "run the same command again to resume (stored blocks are checked and kept)",
                err=True,
            )
        raise
    finally:
        source.close()
    if counts.kept:
        click.echo(f"kept {counts.kept} blocks already stored, wrote {counts.written}")
    return source.shape, counts
