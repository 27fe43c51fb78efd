"""How voxhub's ``labelsz`` differs from DVID's (``/api/help/labelsz``)."""

from __future__ import annotations

from voxhub.datatypes.dvid_differences import DvidDifferences, NotServed

LABELSZ_DIFFERENCES = DvidDifferences(
    notes=(
        "Counts are exact the moment a write returns: element writes, moves and deletes, "
        "and every labelmap mutation (through the synced annotation), update the counts "
        "of the bodies they touch in the same transaction (DVID updates them "
        "asynchronously and loses updates while a reload runs).",
        "A sync (POST sync or the Sync setting) recounts every body at the node before it "
        "returns, and POST reload recounts synchronously (DVID: in the background, the "
        "instance answering errors meanwhile).",
        'ROI ("<roi>,<uuid>") must name an roi instance of the repo at a committed '
        "version (400 otherwise), the static ROI DVID's help describes; DVID accepts any "
        "value and counts nothing when it cannot read the ROI.",
        "Index type Voxels (DVID's planned one) and unknown types are 400 naming the known "
        "ones; counts/{type} answers GET (as DVID, with a body) and POST alike, both reads.",
        "At a merge of versions counts are recounted at the merge node, never conflicts.",
        "Counts are 64-bit (DVID: 32-bit).",
    ),
    not_served=(
        NotServed("GET", "/help", "see /api/help/labelsz"),
        NotServed("POST", "/info", "instance settings are fixed at creation"),
    ),
)
