"""``NeuronJsonInstance``: the documents of one neuronjson instance at one version node.

Every document is one key (:mod:`.keys`), so a read resolves its version from keys alone
and a listing is one scan of the instance's document range at the node. There is no
in-memory index (DVID keeps one for the master leaf and falls back to scans elsewhere):
a query reads the documents stored, which is exact at every node, committed or open.
Writes are read-modify-write transactions (a field update merges into the document
stored at that moment); a batch is one transaction, checked whole before anything is
written.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from voxhub.datatypes.neuronjson import document as docs
from voxhub.datatypes.neuronjson.document import Document, check_body
from voxhub.datatypes.neuronjson.keys import (
    UINT64_MAX,
    body_of,
    doc_key,
    doc_range,
    schema_key,
)
from voxhub.datatypes.neuronjson.query import parse_query
from voxhub.datatypes.neuronjson.validation import ENFORCED, check_schema, validate
from voxhub.datatypes.wire.json_input import parse_json
from voxhub.errors import InvalidRequest, NotFound
from voxhub.versioning.protocols import VersionedTxn, VersionedView

Show = tuple[bool, bool]
HIDDEN: Show = (False, False)


class NeuronJsonInstance:
    """Body documents of a neuronjson instance at the node its ``view`` is bound to."""

    def __init__(self, view: VersionedView, name: str = "", *, default_user: str = "") -> None:
        self._view = view
        self.name = name
        #: who writes when a write names no user (the server names one on every write)
        self.default_user = default_user

    # -- one body ------------------------------------------------------------------------
    def get(self, body: int, fields: Sequence[str] | None = None, show: Show = HIDDEN) -> Document:
        """The document of ``body`` as ``fields``/``show`` select it (NotFound if none)."""
        raw = self._view.get(doc_key(check_body(body)))
        if raw is None:
            raise NotFound(f"body {body} has no document in {self.name!r}")
        return docs.select_fields(docs.decode(raw), fields, show)

    def exists(self, body: int) -> bool:
        return self._view.get(doc_key(check_body(body))) is not None

    def put(
        self,
        body: int,
        doc: Mapping[str, Any],
        *,
        user: str,
        replace: bool = False,
        conditional: Sequence[str] = (),
    ) -> None:
        """Merge ``doc`` into the document of ``body`` (``replace``: make it the document,
        keeping the stamps of unchanged fields); ``conditional`` fields keep stored values."""
        self.put_many({body: doc}, user=user, replace=replace, conditional=conditional)

    def put_many(
        self,
        documents: Mapping[int, Mapping[str, Any]],
        *,
        user: str,
        replace: bool = False,
        conditional: Sequence[str] = (),
    ) -> None:
        """:meth:`put` of several bodies in one transaction: all land, or none (every
        document is checked before anything is written)."""
        user = user or self.default_user
        if not user:
            raise InvalidRequest("neuronjson writes need a user (DVID's ?u=<user>)")
        posted: dict[int, Document] = {}
        for b, d in documents.items():
            body = check_body(b)
            posted[body] = docs.parse_document(d, body)
        now = docs.now_stamp()
        self._view.check_writable()

        def run(txn: VersionedTxn) -> None:
            keys = [doc_key(b) for b in posted]
            schema = txn.get(schema_key(ENFORCED))  # as this transaction sees it
            found = zip(posted.items(), keys, txn.get_many(keys), strict=True)
            for (body, doc), key, raw in found:
                old = docs.decode(raw) if raw is not None else None
                new = docs.merge_document(
                    old, doc, user=user, now=now, conditional=conditional, replace=replace
                )
                validate(schema, body, new)  # 400 naming the field: nothing stored
                encoded = docs.encode(new)
                if raw != encoded:  # a post that changes nothing writes nothing
                    txn.put(key, encoded)

        if posted:
            self._view.transact(run)

    def delete(self, body: int) -> None:
        """Remove the document of ``body`` (nothing happens if it has none, as in DVID)."""
        key = doc_key(check_body(body))
        self._view.check_writable()

        def run(txn: VersionedTxn) -> None:
            if txn.get(key) is not None:
                txn.delete(key)

        self._view.transact(run)

    # -- listings --------------------------------------------------------------------------
    def _documents(self, first: int = 0, last: int = UINT64_MAX) -> Iterator[Document]:
        start, end = doc_range(first, last)
        for _, raw in self._view.scan(start, end):
            if raw is not None:
                yield docs.decode(raw)

    def first_documents(self, limit: int) -> list[Document]:
        """The documents of the ``limit`` lowest body ids (a bounded listing)."""
        return list(itertools.islice(self._documents(), max(limit, 0)))

    def keys(self, first: int = 0, last: int = UINT64_MAX) -> list[int]:
        """Body ids with a document, ascending (``first..last`` inclusive)."""
        if first > last:
            return []
        start, end = doc_range(first, last)
        return [body_of(k) for k, _ in self._view.scan(start, end, keys_only=True)]

    def values_in(
        self, first: int, last: int, fields: Sequence[str] | None = None, show: Show = HIDDEN
    ) -> dict[int, Document]:
        """``{body: document}`` of the bodies ``first..last`` (inclusive), ascending."""
        if first > last:
            return {}
        return {
            d["bodyid"]: docs.select_fields(d, fields, show) for d in self._documents(first, last)
        }

    def get_many(
        self, bodies: Iterable[int], fields: Sequence[str] | None = None, show: Show = HIDDEN
    ) -> dict[int, Document]:
        """``{body: document}`` of those of ``bodies`` that have one, in the order asked."""
        wanted = list(dict.fromkeys(check_body(b) for b in bodies))
        raws = self._view.get_many([doc_key(b) for b in wanted])
        return {
            b: docs.select_fields(docs.decode(raw), fields, show)
            for b, raw in zip(wanted, raws, strict=True)
            if raw is not None
        }

    def all(self, fields: Sequence[str] | None = None, show: Show = HIDDEN) -> list[Document]:
        """Every document, ascending by body, as DVID's ``all`` lists them: a document
        with none of the fields asked for (nothing but ``bodyid``) is left out, unless
        ``bodyid`` is one of the ``fields``."""
        keep_bare = fields is not None and "bodyid" in fields
        out = []
        for doc in self._documents():
            shown = docs.select_fields(doc, fields, show)
            if len(shown) > 1 or keep_bare:
                out.append(shown)
        return out

    def fields(self) -> dict[str, int]:
        """``{field: documents holding it}`` over every document (stamps included)."""
        counts: dict[str, int] = {}
        for doc in self._documents():
            for field in doc:
                counts[field] = counts.get(field, 0) + 1
        return dict(sorted(counts.items()))

    def field_times(self) -> dict[str, str]:
        """``{field: its latest _time stamp}`` over every document."""
        latest: dict[str, str] = {}
        for doc in self._documents():
            for field, value in doc.items():
                if field.endswith(docs.TIME) and isinstance(value, str):
                    root = field[: -len(docs.TIME)]
                    latest[root] = max(latest.get(root, value), value)
        return dict(sorted(latest.items()))

    def query(
        self, query: Any, fields: Sequence[str] | None = None, show: Show = HIDDEN
    ) -> list[Document]:
        """The documents matching the JSON ``query`` (see :mod:`.query`), ascending."""
        return [docs.select_fields(d, fields, show) for d in self._matching(query)]

    def query_ids(self, query: Any) -> list[int]:
        """The bodies whose documents match ``query``, ascending."""
        return [int(d["bodyid"]) for d in self._matching(query)]

    def _matching(self, query: Any) -> list[Document]:
        parsed = parse_query(query)  # refused before anything is read
        bodies = parsed.only_bodies()
        if bodies is not None:  # {"bodyid": [...]}: those keys only, no scan
            found = self.get_many(bodies, show=(True, True)).values()
            return [d for d in found if parsed.matches(d)]
        return [d for d in self._documents() if parsed.matches(d)]

    # -- schemas ---------------------------------------------------------------------------
    def schema(self, kind: str) -> bytes | None:
        """The stored schema document ``kind`` (see ``keys.SCHEMA_KINDS``), or ``None``."""
        return self._view.get(schema_key(kind))

    def set_schema(self, kind: str, raw: bytes) -> None:
        """Store the schema document ``kind`` (it must be JSON; it is kept as sent)."""
        key = schema_key(kind)
        if not raw.strip():
            raise InvalidRequest(f"{kind} needs a JSON body")
        parse_json(raw, kind)
        if kind == ENFORCED:
            check_schema(raw)
        self._view.check_writable()
        self._view.put_many([(key, bytes(raw))])

    def delete_schema(self, kind: str) -> None:
        key = schema_key(kind)
        self._view.check_writable()

        def run(txn: VersionedTxn) -> None:
            if txn.get(key) is not None:
                txn.delete(key)

        self._view.transact(run)
