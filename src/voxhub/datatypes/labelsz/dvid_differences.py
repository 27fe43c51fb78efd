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
        'ROI ("<roi>,<uuid>") naming a committed version is the static ROI DVID\'s help '
        'describes. ROI naming an open version, or only a name ("<roi>"), or an roi '
        "instance among the syncs (POST sync), is a live ROI: at every version the counts "
        "use the ROI as that version holds it, and POST roi / DELETE roi recount every "
        "body in the ROI's own transaction (at merges of versions, the merged ROI). A "
        "labelsz has one ROI; an ROI that is not an roi instance of the repo is a 400 "
        "(DVID accepts any value and counts nothing when it cannot read the ROI).",
        "When its annotation follows another labelmap (or none: POST sync?replace=true), "
        "every body is recounted in that transaction: no count of the old labelmap's "
        "bodies is left.",
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
