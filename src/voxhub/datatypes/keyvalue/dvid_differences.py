"""How voxhub's ``keyvalue`` differs from DVID's (served by ``/api/help/keyvalue``)."""

from __future__ import annotations

from voxhub.datatypes.dvid_differences import DvidDifferences, NotServed

KEYVALUE_DIFFERENCES = DvidDifferences(
    notes=(
        "Keys are non-empty UTF-8 without NUL, at most 400 bytes (413 naming the key "
        "beyond; DVID has no limit). key/{key} takes keys holding '/' (percent-encoded or "
        "not; DVID cuts the key at the first '/'); keyrange bounds cannot hold '/'.",
        "Values of the instance's chunk size (config chunk_bytes, default 4 MiB, shown as "
        "info's Extended.ChunkBytes) or more are stored in chunks: POST key streams the "
        "body into them and GET key streams them out, so a request holds one chunk at "
        "most; a Range (and byte_start/byte_end) reads only the chunks it needs (DVID "
        "reads the whole value). A big value becomes visible when its last chunk is in, "
        "all at once; a failed upload leaves nothing visible.",
        "HEAD key answers the value's size as Content-Length; DELETE key answers a "
        "Voxhub-Key-Existed: true|false header (both 200 as in DVID).",
        "A 416 answer carries voxhub's JSON error body and Content-Range: bytes */N.",
        "keyrangevalues and GET keyvalues check keys and byte ranges before the first byte "
        "is sent (DVID streams, so an error cuts the answer); tar and protobuf answers are "
        "streamed. ?json=true answers are assembled first, within the request limit (413), "
        "and every value is checked as JSON (400 naming the key; DVID only with "
        "check=true, which is accepted and has no effect); keys are JSON-escaped.",
        "GET keyvalues JSON bodies may mix keys and {key, byte_start, byte_end} objects.",
        "POST keyvalues stores the whole batch in one transaction (DVID stores key by key "
        "and keeps what came before an error), and also takes a tar archive (?tar=true or "
        "Content-Type application/x-tar), one file per key; a tar member that is not a "
        "regular file, or a corrupt archive, refuses the batch.",
        "A key changed differently on two branches is a conflict reported by POST merge, "
        "naming the key; diff lists changed keys. Two branches writing the same big "
        "(chunked) value still conflict: their chunks are separate uploads.",
        "Values are stored uncompressed (DVID's Compression setting is ignored).",
        "GET mutations (?userid=) and mutations-range/{beg}/{end} answer the writes made "
        "at a version, oldest first: {Action: postkv|delkv, Key, Bytes (postkv), UUID, "
        "Timestamp, User, App}, DVID's Kafka messages of keyvalue writes (User and App "
        "from u= and app=, left out when not given). Each record is stored in its write's "
        "transaction (a write that fails leaves none); a POST keyvalues batch records "
        "every key; diffs leave records out. mutations-range is 400 when beg is not end "
        "or a first-parent ancestor of it (as labelmap's).",
    ),
    not_served=(
        NotServed("GET", "/help", "see /api/help/keyvalue"),
        NotServed("POST", "/info", "instance settings are fixed at creation"),
    ),
)
