"""How voxhub's image types (``uint8blk`` …) differ from DVID's (``/api/help/{type}``).

Keep this list accurate: ``tests/conformance`` requests every ``not_served`` route and
expects "no endpoint"; the README's "Differences from DVID" summarises it.
"""

from __future__ import annotations

from voxhub.datatypes.dvid_differences import DvidDifferences, NotServed

IMAGE_DIFFERENCES = DvidDifferences(
    notes=(
        "POST raw also accepts subvolumes that are not block-aligned, and bodies "
        "compressed with ?compression=lz4|gzip|zstd.",
        "subvolblocks and specificblocks serve the stored blocks as they are by default "
        "(?compression=native; zstd unless the instance stores JPEG); ?compression=jpeg "
        "transcodes (DVID refuses it for blocks not stored as JPEG); ?compression=lz4|gzip|zstd "
        "(voxhub's own) are voxhub's block codecs, lz4 with a 4-byte little-endian size "
        "prefix.",
        "Pyramid levels are computed by voxhub (after every write; POST pyramid "
        "recomputes them), never posted. DVID's downres instances <name>_1, <name>_2, ... "
        "(what neuroglancer reads) are the instance's own levels, listed in /api/repos/info "
        "and served read-only (writes 405).",
    ),
    not_served=(
        NotServed("GET", "/help", "see /api/help/{type}"),
        NotServed("POST", "/info", "instance settings are fixed at creation"),
        NotServed("GET", "/rawkey", "storage keys are not exposed"),
    ),
)
