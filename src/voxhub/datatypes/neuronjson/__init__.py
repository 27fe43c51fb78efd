"""``neuronjson``: per-body JSON documents (DVID's modern neuron-metadata type).

:mod:`.keys` (one key per body, one per schema), :mod:`.document` (what a POST holds,
DVID's field-merge and ``_user``/``_time`` stamp rules, field selection), :mod:`.query`
(the query language), :mod:`.instance` (the documents at one node; the embedded API's
backend), :mod:`.routes` and :mod:`.routes_batch` (DVID's HTTP routes),
:mod:`.kv_proto` (DVID's ``Keys``/``KeyValues`` protobuf bodies) and
:mod:`.dvid_differences`.
"""
