"""Writing an export where another one (or an interrupted one) may already be.

An export is complete when its metadata file is there (precomputed ``info``, Zarr
``zarr.json``): that file is written last. Replacing an export therefore

1. deletes the old metadata first (:func:`withdraw`), so that an interrupted replacement,
   whose folder holds old and new data files mixed, is never taken for a complete export
   (running the export again completes it);
2. writes the new data files;
3. deletes the data files the new export did not write (:func:`drop_stale`): a shard the
   old export wrote where the volume now holds nothing would otherwise show through; and
   the half-written files a killed export left beside their names (not written since this
   export began);
4. writes the new metadata.

Only files whose names are the format's own data files are deleted (a pattern per
format), so other files a user keeps in the folder stay.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from voxhub.transfer.outputs import Output


def withdraw(output: Output, metadata: re.Pattern[str]) -> list[str]:
    """Delete every file whose name fully matches ``metadata``; their names."""
    gone = [name for name in output.names("") if metadata.fullmatch(name)]
    for name in gone:
        output.delete(name)
    return gone


def drop_stale(
    output: Output, written: Collection[str], data: re.Pattern[str], *, began: float
) -> list[str]:
    """Delete the files fully matching ``data`` that are not in ``written``, and the
    leftovers of killed writers from before ``began`` (``time.time()`` when this export
    began); their names."""
    stale = [n for n in output.names("") if data.fullmatch(n) and n not in written]
    for name in stale:
        output.delete(name)
    return stale + output.drop_leftovers(began)
