"""What an HTTP route takes and answers, declared once, where the route is declared.

Every route of the server is an :class:`ApiRoute`: a Starlette ``Route`` that carries an
:class:`Api` (query parameters, accepted request media types and JSON body schema, the
media types of its answer). ``server.openapi`` builds ``/api/openapi.json`` from the live
route table alone, so the description cannot drift from the routes; path parameters are
described by *name* in :data:`PATH_PARAMS` (a name means one thing in every route, e.g.
``offset`` is always DVID's ``x_y_z``), and a route whose path names a parameter missing
there fails ``tests/server/test_openapi.py``.

Schemas here are what a well-formed request looks like; the parsers still check every
request themselves (a schema is documentation and a fuzzer's guide, never a guard).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import Route

JSON = "application/json"
OCTET = "application/octet-stream"
TEXT = "text/plain"
Schema = Mapping[str, Any]


@dataclass(frozen=True)
class Param:
    """A path or query parameter: name, JSON schema, what it means."""

    name: str
    schema: Schema
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Api:
    """The request a route takes and the answer it gives.

    ``body`` lists the request media types accepted (empty: the route reads no body);
    ``body_schema`` describes a JSON body; ``answers`` the media types of a success.
    """

    query: Sequence[Param] = ()
    body: Sequence[str] = ()
    body_schema: Schema | None = None
    body_required: bool = False
    answers: Sequence[str] = (JSON,)
    status: int = 200


class ApiRoute(Route):
    """A Starlette route that carries its :class:`Api`."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: list[str],
        api: Api | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.api = api or Api()


def json_api(schema: Schema, *, required: bool = False, answers: Sequence[str] = (JSON,)) -> Api:
    """An :class:`Api` taking a JSON body of ``schema``."""
    return Api(body=(JSON,), body_schema=schema, body_required=required, answers=answers)


# -- reusable schemas ---------------------------------------------------------------------
_INT = r"-?[0-9]{1,12}"
_UINT = r"[0-9]{1,12}"
_NUM = r"-?[0-9]{1,9}(\.[0-9]{1,6})?"
#: a node reference: UUID (or prefix), optionally :branch, optionally ~N ancestors up
_VERSION_REF = r"[0-9a-f]{1,32}(:[A-Za-z0-9_.-]*)?(~[0-9]{1,3})?"
UINT64: Schema = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
LABEL_LIST: Schema = {"type": "array", "items": UINT64, "maxItems": 1000}
POINT: Schema = {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 3}
STRING: Schema = {"type": "string", "maxLength": 256}
STRINGS: Schema = {"type": "array", "items": STRING}
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


def object_schema(**properties: Schema) -> Schema:
    """A JSON object schema with these optional properties (others allowed, as DVID does)."""
    return {"type": "object", "properties": properties}


def _pattern(regex: str, description: str) -> Schema:
    return {"type": "string", "pattern": f"^{regex}$", "description": description}


def _enum(values: Sequence[str], description: str) -> Schema:
    return {"type": "string", "enum": list(values), "description": description}


def _triple(part: str) -> str:
    return f"{part}_{part}_{part}"


#: every path parameter name used by a route, with its one schema
PATH_PARAMS: dict[str, Schema] = {
    "uuid": _pattern(
        r"[0-9a-f]{0,32}(:[A-Za-z0-9_.-]*)?(~[0-9]{1,3})?",
        "a node: UUID or unique prefix, optionally :branch and ~N steps back",
    ),
    "ref": _pattern(
        r"[0-9a-f]{0,32}(:[A-Za-z0-9_.-]*)?(~[0-9]{1,3})?|[A-Za-z0-9_.-]{1,64}",
        "a repo alias, or a node: UUID (prefix)[:branch][~N]",
    ),
    "other": _pattern(r"[0-9a-f]{1,32}(:[A-Za-z0-9_.-]*)?", "the node to compare with"),
    "name": _pattern(r"[A-Za-z0-9_.-]{1,64}", "an instance (or branch) name"),
    "instance": _pattern(r"[A-Za-z0-9_.-]{1,64}", "an instance name"),
    "typename": _pattern(r"[a-z0-9]{1,32}", "a datatype name, e.g. uint8blk, labelmap"),
    "dims": _enum(
        ("xy", "xz", "yz", "0_1", "0_2", "1_2", "0_1_2", "xyz", "vol"), "the axes of the request"
    ),
    "size": _pattern(f"{_UINT}_{_UINT}(_{_UINT})?", "sizes x_y[_z] in voxels"),
    "offset": _pattern(_triple(_INT), "x_y_z in voxels (or blocks for block routes)"),
    "point": _pattern(_triple(_INT), "a voxel x_y_z"),
    "fmt": _pattern(
        r"(png|jpg|jpg:[0-9]{1,3}|jpeg|tif|tiff|bmp|octet-stream|nd|raw|npz|hdf5|blosc|xy|xz|yz|ids|id)",
        "an image or array format",
    ),
    "nblocks": _pattern(r"[0-9]{1,6}", "how many blocks along x"),
    "count": _pattern(r"[0-9]{1,6}", "how many label ids to reserve"),
    "label": _pattern(r"[0-9]{1,20}", "a uint64 label id (0 is the background)"),
    "kind": _pattern(r"[A-Za-z]{1,16}", "an element kind: PostSyn, PreSyn, Gap, Note, AllSyn"),
    "n": _pattern(r"[0-9]{1,10}", "how many bodies to answer"),
    "threshold": _pattern(r"[0-9]{1,10}", "the least count answered"),
    "first": _pattern(r"[0-9]{1,20}", "the first label of an inclusive range"),
    "last": _pattern(r"[0-9]{1,20}", "the last label of an inclusive range"),
    "beg": _pattern(_VERSION_REF, "the first version"),
    "end": _pattern(_VERSION_REF, "the last version"),
    "from": _pattern(_VERSION_REF, "the earlier version"),
    "to": _pattern(_VERSION_REF, "the later version"),
    "top_left": _pattern(_triple(_NUM), "a corner x_y_z"),
    "top_right": _pattern(_triple(_NUM), "a corner x_y_z"),
    "bottom_left": _pattern(_triple(_NUM), "a corner x_y_z"),
    "res": _pattern(r"[0-9]{1,3}(\.[0-9]{1,3})?", "a resolution: pyramid level (or voxel size)"),
    "token": _pattern(r"[A-Za-z0-9_.-]{1,64}(:[A-Za-z0-9_.-]{1,64})?", "repo[:branch]"),
    "channel": _pattern(r"[A-Za-z0-9_.-]{1,64}", "an instance name"),
    "coll": _pattern(r"[A-Za-z0-9_.-]{1,64}", "a BossDB collection: the repo"),
    "exp": _pattern(r"[A-Za-z0-9_.-]{1,64}", "a BossDB experiment: the branch"),
    "x": _pattern(f"{_UINT}(,{_UINT})?", "x0,x1 (half-open) or one x"),
    "y": _pattern(f"{_UINT}(,{_UINT})?", "y0,y1 (half-open) or one y"),
    "z": _pattern(f"{_UINT}(,{_UINT})?", "z0,z1 (half-open) or one z"),
    "coord": _pattern(_triple(_INT), "an element position x_y_z"),
    "from_coord": _pattern(_triple(_INT), "the element's position x_y_z"),
    "to_coord": _pattern(_triple(_INT), "its new position x_y_z"),
    "tag": _pattern(r"[^/]{1,256}", "an element tag"),
    "roi": _pattern(r"[A-Za-z0-9_.-]{1,64}(,[0-9a-f]{1,32})?", "an roi instance name[,uuid]"),
    "key": _pattern(r"[^\x00]{1,400}", "a key: UTF-8 without NUL, at most 400 bytes"),
    "firstkey": _pattern(r"[^/\x00]{1,400}", "the first key of an inclusive range"),
    "lastkey": _pattern(r"[^/\x00]{1,400}", "the last key of an inclusive range"),
    "scale_key": _pattern(r"[0-9.]{1,16}(_[0-9.]{1,16}){2}", "a precomputed scale: x_y_z size"),
    "chunk": _pattern(_triple(f"{_INT}-{_INT}"), "a precomputed chunk: x0-x1_y0-y1_z0-z1"),
    "shard": _pattern(r"[0-9a-f]{1,16}\.shard", "a precomputed shard file: hex number .shard"),
    "mesh_file": _pattern(r"[0-9]{1,20}(\.index)?", "a body's mesh: {body}.index or {body}"),
    "array": _pattern(r"s[0-9]{1,2}", "a Zarr array: s0, s1, ... (pyramid level)"),
    "cz": _pattern(r"[0-9]{1,10}", "a Zarr chunk (or shard) grid index along z"),
    "cy": _pattern(r"[0-9]{1,10}", "a Zarr chunk (or shard) grid index along y"),
    "cx": _pattern(r"[0-9]{1,10}", "a Zarr chunk (or shard) grid index along x"),
}

# -- reusable query parameters ---------------------------------------------------------------
SCALE = Param("scale", {"type": "integer", "minimum": 0, "maximum": 8}, "pyramid level")
BODY_COMPRESSION = Param(
    "compression",
    _enum(("raw", "uncompressed", "lz4", "gzip", "zstd"), "compression of the voxel bytes"),
)
BLOCK_COMPRESSION = Param(
    "compression",
    _enum(
        ("native", "jpeg", "raw", "uncompressed", "lz4", "gzip", "zstd", "blocks"),
        "encoding of each block payload",
    ),
)
BLOCKS = Param(
    "blocks", _pattern(f"{_INT}(,{_INT})*", "block coordinates x,y,z[,x,y,z...]"), required=True
)


def flag_param(name: str, description: str = "") -> Param:
    """A boolean query parameter (true/false/1/0)."""
    return Param(name, _enum(("true", "false", "1", "0"), description))


SUPERVOXELS = flag_param("supervoxels", "supervoxel ids instead of bodies")
#: DVID's mask of voxel reads by an roi instance
ROI = Param("roi", {"type": "string", "pattern": NAME_PATTERN}, "voxels outside this roi read as 0")
#: DVID's caller identification, accepted by every route
CALLER = (
    Param("u", {"type": "string", "maxLength": 64}, "the user making the request"),
    Param("app", {"type": "string", "maxLength": 64}, "the application making the request"),
)
