"""How voxhub's ``roi`` differs from DVID's (``/api/help/roi``)."""

from __future__ import annotations

from voxhub.datatypes.dvid_differences import DvidDifferences, NotServed

ROI_DIFFERENCES = DvidDifferences(
    notes=(
        "GET roi answers the ROI's canonical spans: sorted, overlapping and touching spans "
        "of a row merged (DVID answers the spans as posted, duplicates included).",
        "POST roi checks the whole body first: malformed JSON, a span that is not 4 "
        "integers, x1 < x0 or a coordinate beyond int32 is a 400 naming the span, and "
        "nothing is stored (DVID deletes the old ROI first and may store part of the new).",
        "Spans are stored one key per block plane (z) and POST roi rewrites only the planes "
        "that changed: diff lists, and a merge conflict names, 'roi plane z=N'.",
        "A committed node refuses POST/DELETE roi with 409 (DVID: 400); ptquery is allowed "
        "there, as in DVID, and on a server with authentication a reader may POST it (it "
        "is a query). GET ptquery with the points as its body answers as POST does (what "
        "the read-only numpy client sends); without a body it is 400, as DVID answers "
        "every GET.",
        "info's MinZ/MaxZ are the planes holding spans at the node asked about (DVID keeps "
        "one unversioned pair that never shrinks); the default BlockSize is 32, Versioned "
        "true.",
        "partition: a layer of batchsize planes holds only its own planes, and ROI is the "
        "ROI's own block extents (DVID mis-assigned spans after a gap in z and always "
        "included the origin in ROI); more than 1,000,000 subvolumes is a 413; "
        "optimized=true (DVID's hole-merging partition) is a 400; batchsize is required "
        "(as DVID, which documents a default of 8 but refuses its absence).",
        "?roi=<name> on image and labelmap raw and isotropic reads (and labelmap "
        "pseudocolor) masks voxels: a voxel "
        "is kept when it lies in the ROI (DVID keeps or drops whole blocks of the volume "
        "and goes wrong when the two block sizes differ); at ?scale=N a voxel v is kept "
        "when the scale-0 voxel v*2^N is. POST raw with ?roi= (image and labelmap) writes "
        "only the voxels inside the ROI, chosen voxel by voxel as for reads; the others "
        "keep their stored values, read in the write's transaction (DVID writes the "
        "volume's blocks whose block coordinate is in the ROI, right only when the two "
        "block sizes agree). Label index, pyramid, extents, max label and synced "
        "annotations change by the voxels written only; a write whose box misses the "
        "ROI writes nothing. The ROI is read as it is when the write starts.",
        "A mask larger than the request limit is a 413 before anything is allocated.",
    ),
    not_served=(
        NotServed("GET", "/help", "see /api/help/{type}"),
        NotServed("POST", "/info", "instance settings are fixed at creation"),
    ),
)
