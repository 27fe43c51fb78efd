"""The access class of every route, in one place.

Each route of the app (method and path, as Starlette declares it) maps to a :class:`Rule`:

* ``PUBLIC``: anyone (help, OpenAPI, heartbeat, login);
* ``LISTING``: anyone, and the route shows each caller only what it may see (the repo
  listings, the home page);
* ``read``/``write``/``admin`` of the repo of the node a path parameter names (a node
  ref, a repo ref, an ndstore token, BossDB's collection and experiment): a user's role
  in that repo must be at least that; a public node is readable by anyone, and a
  repo-level read with ``public_view`` is allowed to anyone when the repo has public
  nodes (the route then lists only those);
* ``SERVER_ADMIN``: server-wide administrators only (creating repos);
* ``INSTANCE``: the instance routes under ``/api/node/{uuid}/{name}/``, checked by the
  dispatcher once it has resolved the node: GET and HEAD read, every other method writes
  (:func:`instance_need`), so a datatype's new route is classified the day it is added;
  a POST that only queries (``Datatype.read_posts``, e.g. roi's ``ptquery``) reads.

HEAD follows GET. :func:`voxhub.server.auth.guard.protect` refuses to build an app with a
route missing here, and ``tests/server/test_auth_rules.py`` walks every route.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from voxhub.service.auth import Role


class Need(Enum):
    PUBLIC = "public"
    LISTING = "listing"
    ROLE = "role"  # a role in a repo, see Rule.role and Rule.target
    SERVER_ADMIN = "server-admin"
    INSTANCE = "instance"


class Target(Enum):
    NODE = "node"  # each of Rule.params names a node
    REPO = "repo"  # Rule.params[0] names any node of the repo
    NDSTORE = "ndstore"  # Rule.params[0] is an ndstore token (repo[:branch])
    BOSSDB = "bossdb"  # Rule.params are BossDB's collection (repo) and experiment (branch)


@dataclass(frozen=True)
class Rule:
    need: Need
    role: Role | None = None
    target: Target | None = None
    params: tuple[str, ...] = ()
    #: a repo-level read a caller without a role may make when the repo has public nodes
    public_view: bool = False

    def describe(self) -> str:
        if self.role is None:
            return self.need.value
        return f"{self.role.label} ({self.target.value if self.target else ''})"


PUBLIC = Rule(Need.PUBLIC)
LISTING = Rule(Need.LISTING)
SERVER_ADMIN = Rule(Need.SERVER_ADMIN)
INSTANCE = Rule(Need.INSTANCE)
READ, WRITE, ADMIN = Role.READ, Role.WRITE, Role.ADMIN


def node(role: Role, *params: str) -> Rule:
    return Rule(Need.ROLE, role, Target.NODE, params or ("uuid",))


def repo(role: Role, param: str = "uuid", *, public_view: bool = True) -> Rule:
    return Rule(Need.ROLE, role, Target.REPO, (param,), public_view and role is Role.READ)


def ndstore(role: Role) -> Rule:
    return Rule(Need.ROLE, role, Target.NDSTORE, ("token",))


#: instance routes' methods and what each needs
INSTANCE_NEEDS = {"GET": READ, "HEAD": READ, "POST": WRITE, "PUT": WRITE, "DELETE": WRITE}


def instance_need(method: str) -> Role:
    """The role an instance route needs for ``method`` (a method not listed is a write)."""
    return INSTANCE_NEEDS.get(method.upper(), WRITE)


def _server() -> dict[str, dict[str, Rule]]:
    return {
        "/": {"GET": LISTING},
        "/api/help": {"GET": PUBLIC},
        "/api/help/{typename}": {"GET": PUBLIC},
        "/api/openapi.json": {"GET": PUBLIC},
        "/api/heartbeat": {"GET": PUBLIC},
        "/api/server/info": {"GET": PUBLIC},
        "/api/server/compiled-types": {"GET": PUBLIC},
        "/api/server/types": {"GET": LISTING},
        "/api/server/login": {"GET": PUBLIC, "POST": PUBLIC},
        "/api/server/logout": {"POST": PUBLIC},
        "/api/server/token": {"GET": PUBLIC},
        "/api/voxhub/whoami": {"GET": PUBLIC},
        "/api/repos/info": {"GET": LISTING},
        "/api/repos": {"POST": SERVER_ADMIN},
        "/api/voxhub/repos": {"GET": LISTING},
        "/api/voxhub/repos/by-alias": {"GET": LISTING},
        # counts per route template, no data; `--metrics admin` makes the route check
        # for a server admin itself (voxhub.server.metrics_route)
        "/metrics": {"GET": PUBLIC},
    }


def _repos() -> dict[str, dict[str, Rule]]:
    base, own = "/api/repo/{uuid}", "/api/voxhub/repo/{ref}"
    return {
        base: {"HEAD": repo(READ)},
        f"{base}/info": {"GET": repo(READ), "POST": repo(ADMIN)},
        f"{base}/instance": {"POST": node(WRITE)},  # creates the instance at that node
        # the repo log names every node: callers who see only public nodes may not read it
        f"{base}/log": {"GET": repo(READ, public_view=False), "POST": repo(WRITE)},
        f"{base}/branch-versions/{{name}}": {"GET": repo(READ)},
        f"{base}/merge": {"POST": repo(WRITE)},
        f"{base}/resolve": {"POST": repo(WRITE)},
        own: {"GET": repo(READ, "ref"), "POST": repo(ADMIN, "ref")},
        f"{own}/nodes": {"GET": repo(READ, "ref")},
        f"{own}/instances": {"GET": repo(READ, "ref")},
        f"{own}/instance/{{name}}": {"GET": repo(READ, "ref")},
    }


def _nodes() -> dict[str, dict[str, Rule]]:
    base, own = "/api/node/{uuid}", "/api/voxhub/node/{ref}"
    rules = {
        f"{base}/{name}": {"GET": node(READ), "POST": node(WRITE)}
        for name in ("note", "log", "commit")
    }
    return {
        **rules,
        f"{base}/status": {"GET": node(READ)},
        f"{base}/newversion": {"POST": node(WRITE)},
        f"{base}/branch": {"POST": node(WRITE)},
        f"{base}/tag": {"POST": node(WRITE)},
        own: {"GET": node(READ, "ref")},
        f"{own}/instance": {"POST": node(WRITE, "ref")},
        f"{own}/lineage": {"GET": node(READ, "ref")},
        f"{own}/diff/{{other}}/{{instance}}": {"GET": node(READ, "ref", "other")},
        "/api/node/{uuid}/{name}": dict.fromkeys(INSTANCE_NEEDS, INSTANCE),
        "/api/node/{uuid}/{name}/{rest:path}": dict.fromkeys(INSTANCE_NEEDS, INSTANCE),
    }


def _ndstore() -> dict[str, dict[str, Rule]]:
    rules: dict[str, dict[str, Rule]] = {}
    for prefix in ("/ca", "/sd", "/nd/ca", "/nd/sd"):
        cut = prefix + "/{token}/{channel}/{fmt}/{res}/{x}/{y}/{z}"
        bbox = prefix + "/{token}/{channel}/{label}/boundingbox/{res}"
        for path in (cut, cut + "/"):
            rules[path] = {"GET": ndstore(READ), "POST": ndstore(WRITE)}
        for path in (bbox, bbox + "/"):
            rules[path] = {"GET": ndstore(READ)}
    boss = "/v1/boundingbox/{coll}/{exp}/{channel}/{res}/{label}"
    bossdb = Rule(Need.ROLE, READ, Target.BOSSDB, ("coll", "exp"))
    rules[boss] = rules[boss + "/"] = {"GET": bossdb}
    return rules


def _precomputed() -> dict[str, dict[str, Rule]]:
    base = "/precomputed/{uuid}/{instance}"
    views = (base, f"{base}/supervoxels")  # bodies; supervoxels (labelmaps)
    paths = [p for view in views for p in (f"{view}/info", f"{view}/{{scale_key}}/{{chunk}}")]
    jpeg = f"{base}/jpeg"  # uint8 images as jpeg chunks
    paths += [f"{jpeg}/info", f"{jpeg}/{{scale_key}}/{{chunk}}"]
    sharded = [f"{view}/sharded" for view in views]  # neuroglancer_uint64_sharded_v1
    paths += [p for view in sharded for p in (f"{view}/info", f"{view}/{{scale_key}}/{{shard}}")]
    for bodies in (base, f"{base}/sharded"):  # both body views name these, relative to them
        paths.append(f"{bodies}/segment_properties/info")
        paths += [f"{bodies}/mesh/info", f"{bodies}/mesh/{{mesh_file}}"]  # meshes of bodies
    paths += [f"{base}/mesh_legacy/info", f"{base}/mesh_legacy/{{mesh_file}}"]  # legacy format
    return {path: {"GET": node(READ)} for path in paths}


def _zarr() -> dict[str, dict[str, Rule]]:
    base = "/zarr/{uuid}/{instance}"
    groups = [base + s for s in ("", "/sharded", "/supervoxels", "/supervoxels/sharded")]
    paths = [
        p
        for group in groups
        for p in (
            f"{group}/zarr.json",
            f"{group}/{{array}}/zarr.json",
            f"{group}/{{array}}/c/{{cz}}/{{cy}}/{{cx}}",
        )
    ]
    return {path: {"GET": node(READ)} for path in paths}


#: path → method → rule, for every route of the app
ROUTE_RULES: dict[str, dict[str, Rule]] = {
    **_server(),
    **_repos(),
    **_nodes(),
    **_ndstore(),
    **_precomputed(),
    **_zarr(),
}


def rule_for(path: str, method: str) -> Rule | None:
    """The rule of ``method`` on the route declared as ``path`` (HEAD follows GET)."""
    rules = ROUTE_RULES.get(path, {})
    found = rules.get(method)
    if found is None and method == "HEAD":
        found = rules.get("GET")
    return found
