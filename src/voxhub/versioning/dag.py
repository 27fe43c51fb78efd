"""The version DAG as a pure model: node and repo records, the rules, ancestry, refs.

No IO here. :mod:`voxhub.versioning.catalog` loads records from the store, asks these
functions whether an operation is allowed, and persists the result with compare-and-swap.

Rules (DVID's, see reference/dvid.md §1.2–1.4):

* A node is *open* until committed; commit is permanent and allowed once.
* Only open nodes accept writes to versioned data, notes and log lines.
* ``newversion`` makes a child on the parent's branch; the parent must be committed and
  may have at most one child on its own branch, so branches are linear chains.
* ``branch`` makes a child on a new branch; the name must be new in the repo and may be
  neither ``""`` nor ``"master"``; the parent must be committed.
* ``merge`` needs two or more distinct committed parents of one repo; the child is open
  and on ``master``. The order of ``parents`` is their priority.

Visible-version resolution (§1.5, DVID's ``GetBestKeyForVersion`` with invalidation):
given the versions that hold an entry (a value or a tombstone) for a key, the entry seen
from node *v* is found by (1) keeping the holders that are ancestors-or-self of *v*,
(2) dropping every holder that is a proper ancestor of another kept holder (a newer
write invalidates what it overwrote), and (3) if several remain — only possible below a
merge — taking the one that comes first in *v*'s **priority order**: the depth-first
preorder from *v* that visits each node's parents in list order, so everything reachable
through the first parent precedes what only the second parent reaches, and so on
("first parent's side wins", applied recursively at nested merges). Unlike DVID, which
fails such reads later, merges whose remaining holders disagree are refused when the
merge is requested unless the caller asks for this priority resolution.
"""

from __future__ import annotations

import re
import struct
import threading
import uuid as uuidlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voxhub.cache_stats import cache_stats
from voxhub.errors import AmbiguousUUID, InvalidRequest, NotFound, VersionLocked

#: the default branch. DVID stores it as ""; the HTTP layer maps "" to this name.
MASTER = "master"
#: instance names that would collide with node-level endpoints.
RESERVED_INSTANCE_NAMES = frozenset({"log", "branch", "note", "commit", "newversion", "tag"})

_UUID_RE = re.compile(r"[0-9a-f]{32}")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_REF_RE = re.compile(r"(?P<prefix>[^:~]*)(?::(?P<branch>[^~]*))?(?:~(?P<steps>[0-9]+))?")


def now_iso() -> str:
    """The current time, ISO-8601 UTC with microseconds."""
    return datetime.now(UTC).isoformat()


def new_uuid(requested: str | None = None) -> str:
    """A fresh random v4 UUID as 32 lowercase hex, or ``requested`` validated."""
    if requested is None:
        return uuidlib.uuid4().hex
    value = requested.lower()
    if not _UUID_RE.fullmatch(value):
        raise InvalidRequest(f"UUID {requested!r} must be exactly 32 hex characters")
    return value


@dataclass(frozen=True)
class RepoInfo:
    """A repo: a DAG of version nodes identified by its root node's UUID."""

    root: str
    alias: str
    description: str
    log: tuple[str, ...]
    properties: dict[str, Any]
    created: str
    updated: str


@dataclass(frozen=True)
class NodeInfo:
    """One version node. ``parents`` is in priority order (first parent = main line).

    ``parent_ids`` (our addition) holds the parents' version ids, which ancestry needs.
    """

    uuid: str
    version_id: int
    repo: str
    branch: str
    note: str
    log: tuple[str, ...]
    parents: tuple[str, ...]
    children: tuple[str, ...]
    created: str
    updated: str
    locked: bool
    parent_ids: tuple[int, ...] = field(default=())


# -- rules --------------------------------------------------------------------------------


def check_open(node: NodeInfo, what: str) -> None:
    """Refuse ``what`` (e.g. "set the note of") on a committed node."""
    if node.locked:
        raise VersionLocked(f"cannot {what} node {node.uuid}: it is committed (locked)")


def check_commit(node: NodeInfo) -> None:
    """A node can be committed once."""
    if node.locked:
        raise InvalidRequest(f"node {node.uuid} is already committed")


def check_newversion(parent: NodeInfo, child_branches: Iterable[str]) -> None:
    """A new same-branch child needs a committed parent without one already."""
    if not parent.locked:
        raise InvalidRequest(f"cannot create a new version of node {parent.uuid}: commit it first")
    if parent.branch in child_branches:
        raise InvalidRequest(
            f"node {parent.uuid} already has a child on branch {parent.branch!r}; "
            "create a new version of that child or use a new branch"
        )


def validate_branch_name(name: str) -> None:
    """Branch names follow instance-name syntax; master is implicit."""
    if name in ("", MASTER):
        raise InvalidRequest("cannot create a master branch: it exists with every repo")
    if not _NAME_RE.fullmatch(name):
        raise InvalidRequest(f"branch name {name!r} must match [A-Za-z0-9_.-]+")


def check_branch(parent: NodeInfo, name: str, taken: Collection[str]) -> None:
    """A new branch needs a committed parent and a name not yet used in the repo."""
    validate_branch_name(name)
    if not parent.locked:
        raise InvalidRequest(f"cannot branch from node {parent.uuid}: commit it first")
    if name in taken:
        raise InvalidRequest(f"branch {name!r} already exists in repo {parent.repo}")


def check_merge(parents: Sequence[NodeInfo]) -> None:
    """A merge needs >= 2 distinct committed parents of one repo."""
    uuids = [p.uuid for p in parents]
    if len(set(uuids)) != len(uuids):
        raise InvalidRequest(f"merge parents must be distinct, got {uuids}")
    if len(parents) < 2:
        raise InvalidRequest(f"a merge needs at least 2 parents, got {len(parents)}")
    repos = {p.repo for p in parents}
    if len(repos) != 1:
        raise InvalidRequest(f"merge parents belong to different repos: {sorted(repos)}")
    for p in parents:
        if not p.locked:
            raise InvalidRequest(f"cannot merge node {p.uuid}: commit it first")


def validate_instance_name(name: str) -> None:
    """Instance names are URL path segments: [A-Za-z0-9_.-]+, not a node endpoint."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidRequest(f"instance name {name!r} must match [A-Za-z0-9_.-]+")
    if name in RESERVED_INSTANCE_NAMES:
        raise InvalidRequest(
            f"instance name {name!r} is reserved ({', '.join(sorted(RESERVED_INSTANCE_NAMES))})"
        )


# -- ancestry and resolution ---------------------------------------------------------------


@dataclass(frozen=True)
class Ancestry:
    """Ancestors-or-self of one node, with their priority ranks (0 = the node itself)."""

    version_id: int
    rank: dict[int, int]
    #: no merge among the ancestors: the closest holder is always the visible one.
    linear: bool
    #: the merge nodes among ancestors-or-self (diff and merge checks read their writes).
    merges: frozenset[int] = frozenset()

    def __contains__(self, version_id: object) -> bool:
        return version_id in self.rank

    @property
    def members(self) -> frozenset[int]:
        """The version ids of ancestors-or-self."""
        return frozenset(self.rank)


#: a node's ancestry chunk: a first-parent run of version ids starting at the node, and
#: the nodes whose chunks continue it (the run's last parent(s)).
Chunk = tuple[tuple[int, ...], tuple[int, ...]]
#: ancestries kept per process (a deep one holds one dict entry per ancestor).
ANCESTRY_CACHE = 64
_ANCESTRY_STATS = cache_stats("ancestry")


class Lineage:
    """Ancestries of version ids, computed from ancestry *chunks* and cached.

    A chunk (see :func:`chunk_for`) lists a run of single-parent ancestors, so an
    ancestry at depth *d* costs about *d*/:data:`CHUNK_IDS` chunk loads, never a walk of
    the whole DAG. This base class keeps parents in memory (:meth:`add`, for tests and
    pure models); :class:`voxhub.versioning.nodes.StoredLineage` loads chunks from the
    store. The priority order is the depth-first preorder of the module docstring.
    """

    def __init__(self) -> None:
        self._parents: dict[int, tuple[int, ...]] = {}
        self._ancestry: dict[int, Ancestry] = {}
        self._lock = threading.Lock()

    def add(self, version_id: int, parent_ids: Sequence[int]) -> None:
        """Record a node's parents (idempotent: parents never change)."""
        self._parents[version_id] = tuple(parent_ids)

    def chunk(self, version_id: int) -> Chunk:
        """The ancestry chunk of ``version_id`` (here: itself and its parents)."""
        return (version_id,), self._parents[version_id]

    def ancestry(self, version_id: int) -> Ancestry:
        """Ancestors-or-self of a node."""
        cached = self._ancestry.get(version_id)
        _ANCESTRY_STATS.count(hit=cached is not None)
        if cached is None:
            cached = self._compute(version_id, (version_id,), ())
            with self._lock:  # threads of a server share one lineage
                if len(self._ancestry) >= ANCESTRY_CACHE:
                    self._ancestry.pop(next(iter(self._ancestry)))
                self._ancestry[version_id] = cached
        return cached

    def virtual(self, parent_ids: Sequence[int]) -> Ancestry:
        """Ancestry of a not-yet-created child of ``parent_ids`` (id -1; merge checks)."""
        return self._compute(-1, (), tuple(parent_ids))

    def _compute(
        self, version_id: int, start: tuple[int, ...], parents: tuple[int, ...]
    ) -> Ancestry:
        rank: dict[int, int] = {} if start else {version_id: 0}
        merges: set[int] = set()
        stack = list(reversed(start or parents))
        while stack:  # depth-first preorder over chunks, first parent first
            ref = stack.pop()
            if ref in rank:
                continue
            ids, below = self.chunk(ref)
            for v in ids:
                if v in rank:  # seen: so are the rest of the run and everything below it
                    break
                rank[v] = len(rank)
            else:
                if len(below) > 1:
                    merges.add(ids[-1])
                stack.extend(reversed(below))
        linear = not merges and len(parents) <= 1
        return Ancestry(version_id, rank, linear, frozenset(merges))


#: most ids one chunk holds; a chunk of a single-parent node copies its parent's run.
CHUNK_IDS = 64


def chunk_for(version_id: int, parent_ids: Sequence[int], parent_chunk: Chunk | None) -> Chunk:
    """The ancestry chunk of a new node, from its parents and its first parent's chunk.

    A single-parent node extends its parent's run (copying at most :data:`CHUNK_IDS`
    ids) when that run is a plain chain; otherwise it starts a run continued by its
    parents. Chunks are immutable once written, so siblings may share a parent's run.
    """
    if len(parent_ids) == 1 and parent_chunk is not None:
        ids, below = parent_chunk
        if len(below) <= 1 and len(ids) < CHUNK_IDS:
            return (version_id, *ids), below
    return (version_id,), tuple(parent_ids)


def encode_chunk(chunk: Chunk) -> bytes:
    """Bytes of a chunk: counts and ids as big-endian u32."""
    ids, below = chunk
    return struct.pack(f">I{len(ids)}I{len(below)}I", len(ids), *ids, *below)


def decode_chunk(raw: bytes) -> Chunk:
    """Inverse of :func:`encode_chunk`."""
    values = struct.unpack(f">{len(raw) // 4}I", raw)
    n = values[0]
    return tuple(values[1 : 1 + n]), tuple(values[1 + n :])


def maximal_holders(holders: Iterable[int], anc: Ancestry, lineage: Lineage) -> list[int]:
    """Holders visible from ``anc`` that no other visible holder overwrote, by priority."""
    visible = [h for h in holders if h in anc.rank]
    if len(visible) > 1:
        if anc.linear:
            visible = [min(visible, key=anc.rank.__getitem__)]
        else:
            visible = [
                h
                for h in visible
                if not any(g != h and h in lineage.ancestry(g).rank for g in visible)
            ]
    return sorted(visible, key=anc.rank.__getitem__)


def resolve_visible(holders: Iterable[int], anc: Ancestry, lineage: Lineage) -> int | None:
    """The holder whose entry is visible from ``anc``'s node, or ``None`` (module doc)."""
    top = maximal_holders(holders, anc, lineage)
    return top[0] if top else None


# -- refs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A parsed node reference: ``prefix``, ``prefix:branch``, ``:branch``, each ``~N``."""

    prefix: str
    branch: str | None
    steps: int


def parse_ref(ref: str) -> Ref:
    """Parse a node reference; see :class:`Ref`."""
    m = _REF_RE.fullmatch(ref.strip())
    if m is None:
        raise InvalidRequest(f"cannot parse node reference {ref!r}")
    prefix, branch, steps = m.group("prefix"), m.group("branch"), m.group("steps")
    if branch is not None and branch == "":
        raise InvalidRequest(f"node reference {ref!r} names an empty branch")
    if not prefix and branch is None:
        raise InvalidRequest(f"node reference {ref!r} names neither a UUID nor a branch")
    if prefix and not _NAME_RE.fullmatch(prefix):
        raise InvalidRequest(f"UUID prefix {prefix!r} in {ref!r} has invalid characters")
    return Ref(prefix.lower(), branch, int(steps) if steps else 0)


def select_unique(prefix: str, matches: Sequence[str]) -> str:
    """The one UUID among ``matches`` for ``prefix`` (an exact match wins)."""
    if prefix in matches:
        return prefix
    if not matches:
        raise NotFound(f"could not find a node with UUID {prefix!r}")
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:5])
        raise AmbiguousUUID(
            f"more than one node UUID matches prefix {prefix!r} ({len(matches)}: {shown})"
        )
    return matches[0]


def walk_first_parents(start: str, steps: int, parents_of: Callable[[str], Sequence[str]]) -> str:
    """Go ``steps`` first-parent steps up from ``start``."""
    node = start
    for i in range(steps):
        ps = parents_of(node)
        if not ps:
            raise NotFound(f"node {start} has only {i} ancestors, cannot go up {steps}")
        node = ps[0]
    return node
