"""``NeuronJson``: the body documents of a neuronjson instance at one node, as a mapping.

One class serves embedded and remote hubs: it talks to a :class:`NeuronJsonAccess`, which
is the instance itself in this process
(:class:`~voxhub.datatypes.neuronjson.instance.NeuronJsonInstance`) or its HTTP
counterpart (:class:`~voxhub.client.remote.neuronjson.RemoteNeuronJson`), so results and
exceptions are the same on both.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from voxhub.client.handle import InstanceHandle
from voxhub.datatypes.neuronjson.document import Document, parse_show
from voxhub.errors import NotFound
from voxhub.optional import require

if TYPE_CHECKING:
    from voxhub.client.node import Node

Show = tuple[bool, bool]


class NeuronJsonAccess(Protocol):
    """The documents of one neuronjson instance at one node (embedded or over HTTP);
    ``user`` ``None`` means the hub's own (the login name, or the remote client's ``u=``)."""

    def get(self, body: int, fields: Sequence[str] | None = None, show: Show = ...) -> Document: ...

    def exists(self, body: int) -> bool: ...

    def put_many(
        self,
        documents: Mapping[int, Mapping[str, Any]],
        *,
        user: str,
        replace: bool = False,
        conditional: Sequence[str] = (),
    ) -> None: ...

    def delete(self, body: int) -> None: ...

    def keys(self, first: int = ..., last: int = ...) -> list[int]: ...

    def values_in(
        self, first: int, last: int, fields: Sequence[str] | None = None, show: Show = ...
    ) -> dict[int, Document]: ...

    def get_many(
        self, bodies: Iterable[int], fields: Sequence[str] | None = None, show: Show = ...
    ) -> dict[int, Document]: ...

    def all(self, fields: Sequence[str] | None = None, show: Show = ...) -> list[Document]: ...

    def fields(self) -> dict[str, int]: ...

    def field_times(self) -> dict[str, str]: ...

    def query(
        self, query: Any, fields: Sequence[str] | None = None, show: Show = ...
    ) -> list[Document]: ...

    def query_ids(self, query: Any) -> list[int]: ...

    def schema(self, kind: str) -> bytes | None: ...

    def set_schema(self, kind: str, raw: bytes) -> None: ...

    def delete_schema(self, kind: str) -> None: ...


def login_user() -> str:
    """Who writes through an embedded hub when no user is given: the login name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


class NeuronJson(InstanceHandle[NeuronJsonAccess]):
    """Per-body JSON documents (DVID's ``neuronjson``): a mapping from body id to dict.

    ``nj[body] = doc`` replaces a body's document, ``nj.update(body, fields)`` merges
    fields into it (``None`` deletes a field), ``del nj[body]`` removes it. Each field
    keeps who set it and when (``<field>_user``/``<field>_time``), shown by reads with
    ``show="user"|"time"|"all"``. Queries follow DVID's (see
    :mod:`voxhub.datatypes.neuronjson.query`).

    >>> import voxhub
    >>> node = voxhub.open("memory://").create_repo("flies").master
    >>> nj = node.create_neuronjson("neurons", user="alice")
    >>> nj[101] = {"type": "KC", "status": "Traced"}
    >>> nj.update(101, {"status": "Roughly traced"})
    >>> nj[101]
    {'bodyid': 101, 'status': 'Roughly traced', 'type': 'KC'}
    >>> nj.get(101, fields=["status"], show="user")
    {'bodyid': 101, 'status': 'Roughly traced', 'status_user': 'alice'}
    >>> nj.query({"type": ["KC", "MBON"], "status": "re/^Rough"}, fields=["type"])
    [{'bodyid': 101, 'type': 'KC'}]
    """

    def __init__(
        self, node: Node, name: str, access: NeuronJsonAccess, user: str | None = None
    ) -> None:
        super().__init__(node, name, access)
        #: who the writes are made by (``None``: the hub's user)
        self.user = user

    # -- mapping ---------------------------------------------------------------------------
    def __getitem__(self, body: int) -> Document:
        return self._access.get(body)

    def __setitem__(self, body: int, doc: Mapping[str, Any]) -> None:
        self.update(body, doc, replace=True)

    def __delitem__(self, body: int) -> None:
        self._writable(f"del {self.name}[{body}]")
        if not self._access.exists(body):
            raise NotFound(f"body {body} has no document in {self.name!r}")
        self._access.delete(body)

    def __contains__(self, body: object) -> bool:
        return isinstance(body, int) and body > 0 and self._access.exists(body)

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def get(
        self,
        body: int,
        default: Any = None,
        *,
        fields: Sequence[str] | None = None,
        show: str | None = None,
    ) -> Any:
        """The document of ``body`` (only ``fields``, stamps as ``show`` asks), or
        ``default`` if it has none."""
        try:
            return self._access.get(body, fields, parse_show(show))
        except NotFound:
            return default

    def keys(self) -> list[int]:
        """Bodies with a document, ascending."""
        return self._access.keys()

    def keyrange(self, first: int, last: int) -> list[int]:
        """Bodies with a document in ``first..last`` (inclusive), ascending."""
        return self._access.keys(first, last)

    def keyrange_values(
        self, first: int, last: int, *, fields: Sequence[str] | None = None, show: str | None = None
    ) -> dict[int, Document]:
        """``{body: document}`` for the bodies in ``first..last`` (inclusive)."""
        return self._access.values_in(first, last, fields, parse_show(show))

    def get_many(
        self, bodies: Iterable[int], *, fields: Sequence[str] | None = None, show: str | None = None
    ) -> dict[int, Document]:
        """``{body: document}`` of those of ``bodies`` that have one."""
        return self._access.get_many(bodies, fields, parse_show(show))

    # -- writes ----------------------------------------------------------------------------
    def _writable(self, what: str) -> None:
        self._node.hub.check_writable(what)

    def _user(self) -> str:
        return self.user or ""

    def update(
        self,
        body: int,
        fields: Mapping[str, Any],
        *,
        conditional: Sequence[str] = (),
        replace: bool = False,
    ) -> None:
        """Merge ``fields`` into the document of ``body`` (``None`` deletes a field;
        ``conditional`` fields keep their stored values; ``replace``: make ``fields``
        the document, unchanged fields keeping their stamps)."""
        self.update_many({body: fields}, conditional=conditional, replace=replace)

    def update_many(
        self,
        documents: Mapping[int, Mapping[str, Any]],
        *,
        conditional: Sequence[str] = (),
        replace: bool = False,
    ) -> None:
        """:meth:`update` of several bodies at once: all are written, or none."""
        self._writable(f"writing {self.name!r}")
        self._access.put_many(
            documents, user=self._user(), replace=replace, conditional=tuple(conditional)
        )

    # -- queries ---------------------------------------------------------------------------
    def query(
        self, query: Any, *, fields: Sequence[str] | None = None, show: str | None = None
    ) -> list[Document]:
        """The documents matching ``query`` (an object of conditions, or a list of
        them of which any may hold), ascending by body."""
        return self._access.query(query, fields, parse_show(show))

    def query_ids(self, query: Any) -> list[int]:
        """The bodies whose documents match ``query``, ascending."""
        return self._access.query_ids(query)

    def all(
        self, *, fields: Sequence[str] | None = None, show: str | None = None
    ) -> list[Document]:
        """Every document holding one of ``fields`` (any field when ``None``), ascending."""
        return self._access.all(fields, parse_show(show))

    def fields(self) -> list[str]:
        """The field names used by the documents (stamps included), sorted."""
        return list(self._access.fields())

    def field_counts(self) -> dict[str, int]:
        """``{field: number of documents holding it}``."""
        return self._access.fields()

    def field_times(self) -> dict[str, str]:
        """``{field: its latest _time stamp}`` over every document."""
        return self._access.field_times()

    def dataframe(
        self,
        *,
        fields: Sequence[str] | None = None,
        query: Any = None,
        show: str | None = None,
    ) -> Any:
        """The documents (those matching ``query`` if given) as a pandas DataFrame
        indexed by ``bodyid``, one column per field (needs pandas: ``voxhub[io]``)."""
        pd = require("pandas", "NeuronJson.dataframe")
        if query is None:
            rows = self.all(fields=fields, show=show)
        else:
            rows = self.query(query, fields=fields, show=show)
        frame = pd.DataFrame(rows, columns=["bodyid", *fields] if fields and not rows else None)
        if frame.empty and "bodyid" not in frame:
            frame = pd.DataFrame(columns=["bodyid"])
        return frame.set_index("bodyid")

    # -- schemas ---------------------------------------------------------------------------
    def schema(self, kind: str = "json_schema") -> Any:
        """The stored schema ``kind`` (``json_schema``, ``schema``, ``schema_batch``) as
        JSON, or ``None``."""
        raw = self._access.schema(kind)
        return None if raw is None else json.loads(raw)

    def set_schema(self, value: Any, kind: str = "json_schema") -> None:
        """Store the schema ``kind``; documents written after ``json_schema`` is set must
        satisfy it (``InvalidRequest`` naming the field otherwise)."""
        self._writable(f"writing the {kind} of {self.name!r}")
        self._access.set_schema(kind, json.dumps(value).encode())

    def delete_schema(self, kind: str = "json_schema") -> None:
        self._writable(f"deleting the {kind} of {self.name!r}")
        self._access.delete_schema(kind)
