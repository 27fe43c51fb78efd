"""How voxhub's ``annotation`` differs from DVID's (served by ``/api/help/annotation``)."""

from __future__ import annotations

from voxhub.datatypes.dvid_differences import DvidDifferences, NotServed

ANNOTATION_DIFFERENCES = DvidDifferences(
    notes=(
        "Label views are never stale: element writes, moves and deletes, and every labelmap "
        "mutation (voxel writes, merge, cleave, split, renumber) update the per-supervoxel "
        "index in the same transaction, so label/{label} is exact the moment a request "
        "returns (DVID updates it asynchronously; clients poll). POST reload rebuilds only "
        "the tag index, synchronously (DVID rebuilds its denormalizations in the "
        "background); POST sync on an instance that already has elements files them in "
        "that request, and is exact even when a mutation of the labelmap is in flight: "
        "the mutation reads its followers inside its own transaction (a voxel write that "
        "found none before reruns with its change), so it either tells the new follower "
        "or lands before the sync's set-up reads the labels.",
        "A relationship must point at an element that is stored or in the same batch: "
        "otherwise POST elements is a 400 naming the element and nothing of the batch is "
        "stored (DVID stores dangling relationships silently). A malformed element, a "
        "missing Pos or an unknown Kind or Rel is likewise a 400 for the whole batch.",
        "DELETE element and POST move update every element whose Rels point at the changed "
        "one, listed in its own Rels or not (DVID: only the partners it lists).",
        "POST move onto a position that holds an element is a 400 (DVID overwrites it).",
        "GET elements answers [] for an empty box (DVID: null).",
        "POST blocks files each element in the block its position lies in and keeps the "
        "label index exact (DVID stores the blocks as given and needs a reload).",
        'GET labels (or POST with a JSON list of body ids) answers {"<body>": [elements]}; '
        'POST labels with DVID\'s {"<label>": "<elements JSON>"} is accepted and ignored, '
        "since label views are derived from the voxels.",
        "relationships=verbose answers as relationships=true (partners' properties are not "
        "flattened into the Rels).",
        "GET tag/{tag} reads a tag index (per tag and block, kept in the transaction of "
        "every element write, move and delete, recomputed at merges), so it costs what "
        "the tag holds. A tag has at most 255 bytes (UTF-8; longer is a 400 naming it). "
        "POST reload rebuilds the tag index synchronously (label views are never stale); "
        "stores written before the index existed need it once.",
        "Positions must lie within [-524288, 524287] along each axis (DVID: int32): "
        "every element has a 60-bit key packing z, y, x in 20 bits each, which the "
        "per-supervoxel index, the filings and the relationship references store and "
        "sort as fixed-width integers. A position, relationship target, move target or "
        "deleted position beyond is a 400 naming it, and nothing of the request is "
        "stored; boxes reaching beyond the range are answered with what lies inside it.",
        "GET elements, label, tag and roi also answer ?format=columns: the elements as "
        "binary little-endian columns (application/octet-stream, Rels always included): "
        "u8 version 1, u32 N elements, u32 R relationships; i32[N][3] positions (z, y, x); "
        "u8[N] kinds (0 Unknown, 1 PostSyn, 2 PreSyn, 3 Gap, 4 Note); u32[N] relationship "
        "counts; u8[R] relationship types (0 UnknownRelationship, 1 PostSynTo, 2 PreSynTo, "
        "3 ConvergentTo, 4 GroupedWith); i32[R][3] targets (z, y, x), element by element; "
        "then the JSON [[index, Tags, Prop], ...] of the elements that have Tags or Prop. "
        "voxhub's Python client reads it; DVID clients never ask for it.",
        "Merges of version nodes merge element by element: an element changed differently "
        "on both sides is a conflict naming its position; label views are recomputed at "
        "the merge node.",
    ),
    not_served=(NotServed("GET", "scan", "DVID's storage statistics have no voxhub meaning"),),
)
