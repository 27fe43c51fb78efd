"""How voxhub's ``neuronjson`` differs from DVID's (served by ``/api/help/neuronjson``)."""

from __future__ import annotations

from voxhub.datatypes.dvid_differences import DvidDifferences, NotServed

NEURONJSON_DIFFERENCES = DvidDifferences(
    notes=(
        "No in-memory database: every node is read from the store, so keys, all, fields, "
        "fieldtimes and query are exact at every version (DVID serves the master leaf from "
        "memory and other versions differently). keys and keyrange list bodies in numeric "
        "order at every node (DVID: numeric at HEAD, lexicographic elsewhere).",
        "A posted document may leave out bodyid (it is set from the key); a bodyid that is "
        "not the key is 400. Body ids are decimal uint64 > 0: any other key is 400.",
        "keyvalues POST is one transaction: one bad document stores none (DVID stores the "
        'documents before the bad one). It also takes JSON ({"<body>": doc} or a list of '
        "documents with bodyid) with ?json=true or a JSON Content-Type, besides protobuf.",
        "Queries: a bad regex, range or exists/ value, a null, an object or an empty list as "
        "a condition is 400 naming the field (DVID matches such values as literal strings or "
        "never). Numbers compare as numbers (3 matches 3.0, lists of floats match); list "
        "fields of mixed types match element-wise; true/false match boolean fields; "
        "'range/<lo>/<hi>' (inclusive, either bound may be empty) is voxhub's. Regexes are "
        "Python's re (searched, not anchored, as DVID's Go regexp), at most 1000 characters.",
        'query answers ascending by body without duplicates even for {"bodyid": [...]} '
        "queries, and ?onlyid=true always answers ids (DVID answers such queries in the "
        "order asked, ignoring onlyid).",
        "json_schema is enforced as in DVID, per version: every document a write would "
        "store (POST key, keyvalues batches) is checked, after the posted fields are "
        "merged into the stored document and without its _user/_time stamps, against the "
        "schema stored at that node (DVID checks the posted JSON alone, so a field update "
        "passes a 'required' that the stored document meets). A failure is a 400 naming "
        "the body and the field, and nothing of the request is stored. Setting a "
        "json_schema that is not a valid JSON Schema is a 400; documents stored before are "
        "not re-checked. schema and schema_batch (neutu/neu3's UI schemas) are stored, not "
        "enforced. Values are not converted to the types the schema asks for.",
        "?show= other than user, time or all is 400 (DVID ignores it); fieldtimes is the "
        "latest _time of each field over all documents at the node asked (DVID: the last "
        "write's at HEAD only). Timestamps are UTC (RFC 3339, Z).",
        "A write to a committed node is 409; committed nodes still answer POST query.",
        "The fields bodyid and user never get _user/_time stamps (DVID stamps user on "
        "?replace=true). key answers application/json (DVID: no declared type).",
        "key/schema and key/schema_batch (DVID's aliases of schema and schema_batch, kept "
        "for keyvalue clients) are 400: a key must be a body id; use GET|POST schema.",
    ),
    not_served=(NotServed("GET", "/help", "see /api/help/neuronjson"),),
)
