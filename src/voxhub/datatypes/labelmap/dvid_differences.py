"""How voxhub's ``labelmap`` differs from DVID's (served by ``/api/help/labelmap``).

Keep this list accurate: ``tests/conformance`` requests every ``not_served`` route and
expects "no endpoint"; the README's "Differences from DVID" summarises it.
"""

from __future__ import annotations

from voxhub.datatypes.dvid_differences import DvidDifferences, NotServed

LABELMAP_DIFFERENCES = DvidDifferences(
    notes=(
        "Consistency is synchronous: a write or mutation returns after the voxels, the "
        "label index, the pyramid levels, MaxLabel and the extents are all updated in one "
        "transaction (DVID indexes and downsamples in the background). So POST blocks "
        "ignores downres= and noindexing=, and throttle= is accepted and ignored.",
        "IndexedLabels is always true and CountLabels is implied: every label index is exact.",
        "info's Extended.MaxLabel is the maxlabel of the node asked (DVID serialises its map "
        "{internal version id: maxlabel}); GET maxlabel answers the same number.",
        "POST raw also accepts subvolumes that are not block-aligned; GET raw serves 3-D "
        "(0_1_2) octet-streams only (no 2-D label images).",
        "POST blocks at scale 0 also derives the pyramid levels (DVID: only with "
        "downres=true); at ?scale=N it stores the blocks at that level as posted, as DVID "
        "does (and as ingest-supervoxels?scale=N).",
        "index/{label} and indices also take and answer voxhub's JSON with ?format=json; "
        "SVCount.surface_mutid is not kept (read as 0), MappingOp.mutid is not recorded. "
        "index?mutid= is always available (every mutation keeps the indexes it rewrites).",
        "ingest-supervoxels at scale 0 also updates the label indexes and extents (voxhub "
        "keeps indexes exact); it derives no pyramid levels, as in DVID.",
        "sparsevol?format=blocks clips each block's mask to the bounds (DVID sends every "
        "block that meets them whole); a body with no voxels at a coarse ?scale is 404 "
        "(DVID: 200 and an empty body), as one with none within the bounds; exact=false "
        "is accepted and runs are always exact.",
        "isotropic serves 3-D (0_1_2) only and resamples labels to cubic voxels by nearest "
        "neighbour (DVID returns raw 3-D labels unchanged, and 2-D ones as images).",
        "split-supervoxel ?split= and ?remain= ids must be unused at the node (409 "
        "otherwise; DVID does not check), and the label counter then never hands them out.",
        "POST split is always enabled (DVID needs AllowLabelmapSplit in its config).",
        'POST renumber answers {"MutationID": last, "MutationIDs": [one per pair]} (DVID '
        "answers nothing); like DVID, each pair is a mutation and a renumber-complete record.",
        "lastmod and index times are ISO 8601 with milliseconds and an explicit offset, e.g. "
        "2026-01-02T03:04:05.678+00:00; mutation records carry DVID's Go-style Timestamp "
        "(2026-01-02 03:04:05.678 +0000 UTC, without Go's monotonic m=+... reading).",
        'Mutation records of split and split-supervoxel carry Split: "" (DVID\'s blobstore '
        "reference to the split's RLEs; voxhub keeps no blobstore).",
        "mutations-range and history answer 400 when the first version is not the last or a "
        "first-parent ancestor of it (DVID walks on to the root, or answers nothing); history "
        "answers a JSON list (DVID writes the objects back to back) and follows split "
        "supervoxels and renumbered bodies, so their earlier mutations are listed too.",
    ),
    not_served=(
        NotServed("GET", "/help", "see /api/help/labelmap"),
        NotServed("POST", "/info", "instance settings are fixed at creation"),
        NotServed("POST", "/extents", "extents follow the voxels written"),
        NotServed("POST", "/sync", "a labelmap follows nothing; annotations sync to it"),
        NotServed("GET", "/metadata", "an image-instance route; labelmap has info"),
        NotServed("POST", "/set-nextlabel/{label}", "admin: the counter is never lowered"),
        NotServed("GET", "/fvdb/{label}", "no NanoVDB export"),
        NotServed("GET", "/proximity/{labels}", "no proximity queries"),
        NotServed("GET", "/existing-labels", "use listlabels"),
        NotServed("GET", "/indices-compressed", "use index/{label}"),
        NotServed("GET", "/map-stats", "no mapping statistics"),
    ),
)
