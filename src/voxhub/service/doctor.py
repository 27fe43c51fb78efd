"""``voxhub doctor``: is every stored value readable, and does derived data agree with
scale 0? Optionally rebuild what is derived.

Two passes per instance, each through the datatype's registry hooks
(:mod:`voxhub.datatypes.health`):

* **values**: every stored version of every key of the instance is read once, straight
  from the store (all nodes, pending merges included), and must decode (blocks, label
  indexes, extents records). Cost: what is stored.
* **derived data**, at chosen nodes: pyramid levels equal the downsampling of the level
  below, the extents cover every stored block, and for labelmaps the label index equals
  a recount (a sample of bodies, or all), maxlabel and the label counter lie above every
  stored id. By default the nodes checked are the **leaves** of every repo (open or
  committed nodes without children: the versions people read and write; an interior
  node's data is what its leaf inherits unless overwritten); ``nodes`` names others,
  ``all_nodes`` takes every node.

``repair`` runs the datatype's ``repair_instance`` for each (node, instance) with
derived problems, one transaction each, then checks it again. Derived data built from a
block that does not decode is neither judged nor rebuilt (it may be the only other copy
of the block's voxels). Committed nodes are
immutable: their problems are reported as not repairable there (repair at a new version
on top of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from voxhub.datatypes.health import CheckOptions, Problem
from voxhub.datatypes.registry import datatype_for
from voxhub.errors import NotFound
from voxhub.service.service import Service
from voxhub.versioning.catalog import InstanceInfo, NodeInfo, RepoInfo
from voxhub.versioning.keys import instance_range, split_data_key


@dataclass(frozen=True)
class Finding:
    """A problem of one instance, at one node (``node`` empty: a stored value of a
    version no node shows, e.g. a pending merge's)."""

    repo: str
    node: str
    instance: str
    problem: Problem


@dataclass
class DoctorReport:
    """What a doctor run checked, found and rebuilt."""

    checked: list[str] = field(default_factory=list)  #: "repo node instance" per check
    values: int = 0  #: stored values read
    findings: list[Finding] = field(default_factory=list)  #: problems still there
    repairs: list[str] = field(default_factory=list)  #: what was rebuilt

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        """The report as text, one fact per line."""
        out = [f"read {self.values} stored values; checked {len(self.checked)} node instances"]
        out += [f"repaired: {r}" for r in self.repairs]
        for f in self.findings:
            where = f"{f.repo} {f.node[:12] or '(no node)'} {f.instance}"
            fix = "derived: --repair rebuilds it" if f.problem.derived else "not derived"
            out.append(f"PROBLEM {where} [{f.problem.check}] {f.problem.message} ({fix})")
        out.append("no problems found" if self.ok else f"{len(self.findings)} problems")
        return out


def _name(repo: RepoInfo) -> str:
    return repo.alias or repo.root


def select_nodes(
    service: Service, repo: RepoInfo, refs: Sequence[str], all_nodes: bool
) -> list[NodeInfo]:
    """The nodes of ``repo`` to check (see the module docstring)."""
    catalog = service.catalog
    if refs:
        return [n for n in (catalog.node(r) for r in refs) if n.repo == repo.root]
    nodes = catalog.nodes(repo.root)
    return nodes if all_nodes else [n for n in nodes if not n.children]


def check_values(service: Service, repo: RepoInfo, info: InstanceInfo) -> tuple[int, list[Finding]]:
    """Read every stored value of ``info`` and let its datatype judge it."""
    make = datatype_for(info.typename).check_values
    if make is None:
        return 0, []
    check = make(info.config)
    node_of = {n.version_id: n.uuid for n in service.catalog.nodes(repo.root)}
    count, found = 0, []
    for key, value in service.store.scan(*instance_range(info.instance_id)):
        _, tkey, version, tombstone = split_data_key(key)
        if tombstone or value is None:
            continue
        count += 1
        why = check(tkey, value)
        if why is not None:
            problem = Problem("decode", why, False)
            found.append(Finding(_name(repo), node_of.get(version, ""), info.name, problem))
    return count, found


def run_doctor(
    service: Service,
    *,
    repos: Sequence[str] = (),
    nodes: Sequence[str] = (),
    instances: Sequence[str] = (),
    all_nodes: bool = False,
    options: CheckOptions | None = None,
    repair: bool = False,
) -> DoctorReport:
    """Check (and with ``repair`` rebuild) the store behind ``service``; see the module
    docstring. ``repos``, ``nodes`` and ``instances`` narrow what is checked (aliases,
    UUIDs or refs; instance names)."""
    options = options or CheckOptions()
    catalog = service.catalog
    report = DoctorReport()
    chosen = [catalog.repo(r) for r in repos] if repos else catalog.repos()
    if nodes and not repos:
        roots = {catalog.node(r).repo for r in nodes}
        chosen = [r for r in chosen if r.root in roots]
    plan = [(repo, catalog.instances(repo.root)) for repo in chosen]
    named = {i.name for _, infos in plan for i in infos}
    missing = sorted(set(instances) - named)
    if missing:  # a typo must not pass as "no problems found"
        where = ", ".join(_name(r) for r in chosen) or "the store"
        raise NotFound(f"no data instance {missing[0]!r} in {where}")
    for repo, infos in plan:
        infos = [i for i in infos if not instances or i.name in instances]
        for info in infos:
            count, found = check_values(service, repo, info)
            report.values += count
            report.findings += found
        for node in select_nodes(service, repo, nodes, all_nodes):
            for info in infos:
                _check_at(service, repo, node, info, options, repair, report)
    return report


def _check_at(
    service: Service,
    repo: RepoInfo,
    node: NodeInfo,
    info: InstanceInfo,
    options: CheckOptions,
    repair: bool,
    report: DoctorReport,
) -> None:
    datatype = datatype_for(info.typename)
    if datatype.check_instance is None:
        return
    report.checked.append(f"{_name(repo)} {node.uuid} {info.name}")
    problems = datatype.check_instance(service, node.uuid, info, options)
    fixable = repair and datatype.repair_instance is not None
    if fixable and any(p.derived for p in problems):
        if node.locked and info.versioned:
            problems = [
                Problem(p.check, f"{p.message}; node is committed, repair at a new version", False)
                if p.derived
                else p
                for p in problems
            ]
        else:
            assert datatype.repair_instance is not None
            done = datatype.repair_instance(service, node.uuid, info)
            where = f"{_name(repo)} {node.uuid[:12]} {info.name}"
            report.repairs += [f"{where}: {d}" for d in done]
            problems = datatype.check_instance(service, node.uuid, info, options)
    report.findings += [Finding(_name(repo), node.uuid, info.name, p) for p in problems]
