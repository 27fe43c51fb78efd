"""DVID's ``GET partition?batchsize=N``: subvolumes of ``N``³ blocks covering an ROI.

DVID's simple partition: the ROI's block planes are cut into layers of ``N`` planes;
in each layer, the rows of blocks holding spans into bands of ``N`` rows (the band grid
centred on the layer's rows as DVID centres it); in each band, ``N``-block windows along
x over the band's spans (centred likewise). A window holding at least one active block is
a subvolume::

    {"NumTotalBlocks", "NumActiveBlocks", "NumSubvolumes",
     "ROI": {"MinChunk": [x,y,z], "MaxChunk": [x,y,z]},
     "Subvolumes": [{"MinPoint", "MaxPoint", "MinChunk", "MaxChunk",
                     "TotalBlocks", "ActiveBlocks"}, ...]}

(points in voxels, chunks in blocks, both inclusive, ``x,y,z``). Work is per span and per
subvolume, in numpy per band; more than :data:`MAX_SUBVOLUMES` subvolumes is a 413.
Where DVID is wrong this is not (listed in the roi's DVID differences): a layer holds
only its own planes (DVID put every span after a gap of more than ``N`` planes into the
next layer, whatever its z), and ``ROI`` is the ROI's own block extents (DVID's started
from 0, so it always included the origin).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxhub.errors import TooLarge
from voxhub.geometry import Vec3

#: the most subvolumes one answer lists (a bigger batch size gives fewer)
MAX_SUBVOLUMES = 1_000_000


def partition(spans: np.ndarray, block_shape: Vec3, batch: int) -> dict[str, Any]:
    """DVID's simple partition (see the module doc) of canonical ``spans``."""
    out: dict[str, Any] = {
        "NumTotalBlocks": 0,
        "NumActiveBlocks": 0,
        "NumSubvolumes": 0,
        "ROI": {"MinChunk": [0, 0, 0], "MaxChunk": [0, 0, 0]},
        "Subvolumes": [],
    }
    if not len(spans):
        return out
    min_z, max_z = int(spans[0, 0]), int(spans[-1, 0])
    out["ROI"] = {
        "MinChunk": [int(spans[:, 2].min()), int(spans[:, 1].min()), min_z],
        "MaxChunk": [int(spans[:, 3].max()), int(spans[:, 1].max()), max_z],
    }
    layer_beg = _centred(min_z, max_z, batch)
    layer_of = (spans[:, 0] - layer_beg) // batch
    cuts = np.flatnonzero(layer_of[1:] != layer_of[:-1]) + 1
    for part in np.split(spans, cuts):
        z0 = layer_beg + int((part[0, 0] - layer_beg) // batch) * batch
        _add_layer(out, part, z0, z0 + batch - 1, block_shape, batch)
    out["NumSubvolumes"] = len(out["Subvolumes"])
    return out


def _centred(lo: int, hi: int, batch: int) -> int:
    """Where DVID starts a grid of ``batch``-wide windows over ``lo..hi``."""
    return lo - ((hi - lo + 1) % batch) // 2


def _add_layer(
    out: dict[str, Any], layer: np.ndarray, z0: int, z1: int, block_shape: Vec3, batch: int
) -> None:
    ys = layer[:, 1]
    beg_y = _centred(int(ys.min()), int(ys.max()), batch)
    band_of = (ys - beg_y) // batch
    order = np.argsort(band_of, kind="stable")  # the layer's spans by band, in one pass
    bands, firsts = np.unique(band_of[order], return_index=True)
    for band, actives in zip(bands.tolist(), np.split(layer[order], firsts[1:]), strict=True):
        y0 = beg_y + band * batch
        x0s, x1s = actives[:, 2], actives[:, 3]
        min_x, max_x = int(x0s.min()), int(x1s.max())
        left = (max_x - min_x + 1) % batch  # DVID pads by the remainder, half each side
        beg_x, end_x = min_x - left // 2, max_x + left - left // 2
        windows = (end_x - beg_x) // batch + 1
        per_window = batch * batch * (z1 - z0 + 1)
        first_w = (x0s - beg_x) // batch
        last_w = (x1s - beg_x) // batch
        touched = np.unique(
            np.concatenate([np.arange(a, b + 1) for a, b in _bounded(first_w, last_w, out)])
        )
        counts = [
            _actives(x0s, x1s, beg_x + w * batch, beg_x + w * batch + batch - 1)
            for w in touched.tolist()
        ]
        out["NumTotalBlocks"] += windows * per_window
        for w, active in zip(touched.tolist(), counts, strict=True):
            xa = beg_x + w * batch
            lo, hi = (xa, y0, z0), (xa + batch - 1, y0 + batch - 1, z1)
            out["NumActiveBlocks"] += active
            out["Subvolumes"].append(_subvolume(lo, hi, block_shape, per_window, active))


def _bounded(first: np.ndarray, last: np.ndarray, out: dict[str, Any]) -> list[tuple[int, int]]:
    """The window ranges of a band's spans, refusing answers over :data:`MAX_SUBVOLUMES`."""
    pairs = list(zip(first.tolist(), last.tolist(), strict=True))
    windows = sum(b - a + 1 for a, b in pairs) + len(out["Subvolumes"])
    if windows > MAX_SUBVOLUMES:
        raise TooLarge(
            f"partition would list more than {MAX_SUBVOLUMES} subvolumes; ask with a "
            "larger batchsize"
        )
    return pairs


def _actives(x0s: np.ndarray, x1s: np.ndarray, lo: int, hi: int) -> int:
    """Blocks of spans ``x0s..x1s`` inside ``lo..hi``."""
    return int(np.clip(np.minimum(x1s, hi) - np.maximum(x0s, lo) + 1, 0, None).sum())


def _subvolume(
    lo: tuple[int, int, int], hi: tuple[int, int, int], block_shape: Vec3, total: int, active: int
) -> dict[str, Any]:
    size = (block_shape[2], block_shape[1], block_shape[0])  # x, y, z
    return {
        "MinPoint": [c * s for c, s in zip(lo, size, strict=True)],
        "MaxPoint": [(c + 1) * s - 1 for c, s in zip(hi, size, strict=True)],
        "MinChunk": list(lo),
        "MaxChunk": list(hi),
        "TotalBlocks": total,
        "ActiveBlocks": active,
    }
