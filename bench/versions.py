"""What history costs: voxhub vs Icechunk 2.x on the same 512³ EM volume and version chain.

Run: ``python -m bench.versions`` (options below; ``--no-icechunk`` for voxhub alone).
voxhub runs here through its public API on LMDB; Icechunk runs in its own venv
(``bench/work/icechunk-venv``, Python ≥ 3.12, made on first use with
``pip install icechunk zarr numpy``) as a subprocess that prints JSON. Results go to
``bench/versions_results.json``; the table is printed. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.data import DATA_DIR, em_volume
from bench.memory import malloc_mode, retain_freed_memory
from bench.versions_common import make_plan, p50, p99, save_plan
from bench.versions_voxhub import block_versions, chain, many_nodes

HERE = Path(__file__).parent
ROOT = HERE.parent
VENV = HERE / "work" / "icechunk-venv"


def _python312() -> str | None:
    """A Python ≥ 3.12 interpreter: ``$ICECHUNK_PYTHON``, ``python3.12`` or pyenv's."""
    candidates = [
        os.environ.get("ICECHUNK_PYTHON", ""),
        shutil.which("python3.13") or "",
        shutil.which("python3.12") or "",
    ]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python"))
    for c in candidates:
        if c and Path(c).exists() and _runs_312(c):
            return c
    return None


def _runs_312(python: str) -> bool:
    """Whether ``python`` starts and is ≥ 3.12: a pyenv shim such as ``python3.13`` exists
    on PATH even when that version is not active, and then fails to start."""
    probe = "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def icechunk_python() -> str | None:
    """The venv's interpreter, making the venv on first use (``None`` if impossible)."""
    python = VENV / "bin" / "python"
    if python.exists():
        return str(python)
    base = _python312()
    if base is None:
        print("Icechunk skipped: no Python >= 3.12 found (set $ICECHUNK_PYTHON)")
        return None
    probe = subprocess.run(
        [base, "-m", "pip", "download", "--no-deps", "-q", "-d", tempfile.mkdtemp(), "icechunk"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        print(f"Icechunk skipped: pip cannot fetch it ({probe.stderr.strip()[-200:]})")
        return None
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "icechunk", "zarr", "numpy"], check=True
    )
    return str(python)


def run_icechunk(
    python: str, em_path: Path, plan: Path, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    cmd = [
        python, "-m", "bench.versions_icechunk", str(em_path), str(plan), str(workdir),
        "--shots", str(args.shots), "--block-versions", str(args.block_versions),
        "--reads", str(args.reads), "--open-nodes", str(args.open_nodes),
        "--open-budget", str(args.open_budget),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"Icechunk sub-benchmark failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _row(name: str, v: float | None, i: float | None, unit: str, goal: str = "") -> str:
    """One table line; the ratio is how many times faster voxhub is (> 1: voxhub wins)."""

    def cell(x: float | None) -> str:
        return "—" if x is None else f"{x:.2f} {unit}"

    ratio = ""
    if v and i:
        ratio = f"{(v / i if unit == 'MB/s' else i / v):.2f}x"
    return f"{name:<52}{cell(v):>14}{cell(i):>14}{ratio:>9}  {goal}"


def report(v: dict[str, Any], ic: dict[str, Any] | None, mb: float, depth: int) -> None:
    vc, icc = v["chain"], (ic or {}).get("chain")

    def ms(key: str, fn: Any = p50, ic_key: str | None = None) -> tuple[float, float | None]:
        return fn(vc[key]), (fn(icc[ic_key or key]) if icc else None)

    def speed(key: str) -> tuple[float, float | None]:
        return mb / vc[key], (mb / icc[key] if icc else None)

    print(f"{'measure':<52}{'voxhub':>14}{'icechunk':>14}{'speedup':>9}  goal (voxhub)")
    print(_row("full write", *speed("write_s"), "MB/s"))
    print(_row("full read at the root", *speed("root_read_s"), "MB/s"))
    print(_row(f"full read at depth {depth}", *speed("leaf_read_s"), "MB/s"))
    dr = vc["leaf_read_s"] / vc["root_read_s"]
    idr = f"{icc['leaf_read_s'] / icc['root_read_s']:.2f}x" if icc else "—"
    print(f"{'  read time, depth / root':<52}{dr:>13.2f}x{idr:>14}{'':>9}  ≤ 1.10x")
    for key, label, goal in (
        ("newversion_ms", "newversion (icechunk: writable session)", "≤ 5 ms"),
        ("block_write_ms", "write of one 64³ block", ""),
        ("commit_ms", "commit of that block (durable)", "≤ 5 ms"),
        ("branch_ms", "branch", "≤ 5 ms"),
        ("diff_ms", f"diff root..depth {depth}", "≤ 15 ms"),
    ):
        print(_row(f"{label}, p50", *ms(key), "ms", goal))
        print(_row("  p99", *ms(key, p99), "ms"))
    print(
        _row(
            "merge of 2 branches, other blocks (ic: rebase)",
            *ms("merge_ms", ic_key="rebase_ms"),
            "ms",
        )
    )
    print(_row("refused merge = conflict check (ic: failed rebase)",
               *ms("conflict_check_ms", ic_key="rebase_conflict_ms"), "ms", "≤ 5 ms"))  # fmt: skip
    bv, ibv = v.get("block_versions"), (ic or {}).get("block_versions")
    if bv:
        one = bv["read_p50_ms"]["1"]
        for n in bv["versions"]:
            a = bv["read_p50_ms"][str(n)]
            b = ibv["read_p50_ms"][str(n)] if ibv else None
            print(_row(f"64³ block stored in {n} versions, read p50", a, b, "ms",
                       f"{a / one:.2f}x of 1 version (≤ 1.2x)"))  # fmt: skip
    print(_row(f"open + find master, {depth}-version repo", vc["open_s"] * 1e3,
               ic["open_chain_s"] * 1e3 if ic else None, "ms"))  # fmt: skip
    many, imany = v.get("many"), (ic or {}).get("many")
    if many:
        label = f"open + find master, {many['nodes']} nodes"
        if imany:
            label += f" ({imany['nodes']} in ic)"
        print(_row(label, p50(many["open_master_s"]) * 1e3,
                   imany["open_s"] * 1e3 if imany else None, "ms", "< 1 s at 10⁵"))  # fmt: skip
        print(
            f"  made {many['nodes']} voxhub nodes and {many['writes_per_node']} 8³-block writes "
            f"per node in {many['build_s']:.0f} s (API, on tmpfs)"
        )
        if imany:
            print(f"  made {imany['nodes']} Icechunk snapshots in {imany['build_s']:.0f} s")
        for key in [k for k in many if k.startswith("lookups_at")]:
            look = many[key]
            where = key.removeprefix("lookups_at_").replace("end", f"{many['nodes']}")
            print(f"  at {where} nodes: uuid:master {look['node_master_ms']:.2f} ms, "
                  f"repo.master {look['repo_master_ms']:.2f} ms, GET /api/repos/info "
                  f"{look['repos_info_ms']:.1f} ms, GET uuid:master/commit "
                  f"{look['http_master_ms']:.2f} ms (p50)")  # fmt: skip
    stored = f"{icc['stored_bytes'] / 1e6:.0f} MB" if icc else "—"
    print(f"stored after the chain: voxhub {vc['stored_bytes'] / 1e6:.0f} MB, icechunk {stored}")


def main() -> None:
    retain_freed_memory("bench.versions")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--retain-memory",
        action="store_true",
        help="keep freed memory in the process (bench/memory.py)",
    )
    parser.add_argument("--n", type=int, default=512, help="side of the cubic EM volume")
    parser.add_argument("--depth", type=int, default=50, help="version chain depth")
    parser.add_argument("--shots", type=int, default=5, help="interleaved single-shot full reads")
    parser.add_argument("--block-versions", type=int, default=1000, help="0 skips the test")
    parser.add_argument("--reads", type=int, default=100, help="reads per block-versions case")
    parser.add_argument("--open-nodes", type=int, default=100_000, help="0 skips the test")
    parser.add_argument("--open-budget", type=float, default=300.0, help="seconds to make nodes")
    parser.add_argument("--open-writes", type=int, default=10, help="8³ blocks written per node")
    parser.add_argument("--no-icechunk", action="store_true")
    args = parser.parse_args()
    em = em_volume(args.n)
    mb = em.nbytes / 1e6
    coords, blocks = make_plan(em, args.depth)
    work = Path(
        tempfile.mkdtemp(
            prefix="voxhub-versions-", dir=HERE / "work" if (HERE / "work").exists() else None
        )
    )
    try:
        plan = work / "plan.npz"
        save_plan(plan, coords, blocks)
        v: dict[str, Any] = {"chain": chain(em, coords, blocks, work / "vx-chain", args.shots)}
        if args.block_versions:
            v["block_versions"] = block_versions(
                em, work / "vx-per-block", args.block_versions, args.reads
            )
        if args.open_nodes:
            v["many"] = many_nodes(work, args.open_nodes, args.open_budget, args.open_writes)
        ic = None
        python = None if args.no_icechunk else icechunk_python()
        if python is not None:
            ic = run_icechunk(python, DATA_DIR / f"em{args.n}.npy", plan, work / "ic", args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    engines = f", Icechunk {ic['icechunk']} (zarr {ic['zarr']})" if ic else ""
    print(
        f"\nEM {args.n}³ uint8 ({mb:.0f} MB), zstd-1, 64³ blocks/chunks, {args.depth}-version "
        f"chain; {platform.machine()}, Python {platform.python_version()}{engines}; malloc "
        f"{malloc_mode()} (bench/memory.py)\n"
    )
    report(v, ic, mb, args.depth)
    (HERE / "versions_results.json").write_text(
        json.dumps({"voxhub": v, "icechunk": ic, "malloc": malloc_mode()}, indent=1)
    )


if __name__ == "__main__":
    main()
