"""The 512³ label write of two source trees, alternating in the same minutes.

Run: ``.venv/bin/python -m bench.label_write_ab SRC_A SRC_B [--rounds 4] [--n 512]`` where
each ``SRC`` is a ``src`` directory (a worktree's, or ``git archive REV src | tar -x -C
DIR``). Each round runs, for each tree in turn (the order swapped every round), a fresh
interpreter importing voxhub from that tree, which makes a fresh LMDB store and writes
``bench.labels``' cached Voronoi segmentation (40-bit ids, 64³ blocks) into two fresh
labelmaps, as the label-write row of :mod:`bench.dvid_streams` does. Per write: MB/s of
uint64 voxels, the process's CPU time, and the CPU time spent inside
``compressed_segmentation.compress`` (summed over threads), which holds the GIL throughout
and so bounds the write from below on any number of cores. On a busy host the wall times
mostly measure waiting for a core; the encoder's and the process's CPU time are what load
disturbs least. The host's speed varies up to 2x over a day: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, os, shutil, sys, tempfile, time
import compressed_segmentation as cs
encoder = [0.0]
compress = cs.compress
def timed(*args, **kwargs):
    t = time.thread_time()
    try:
        return compress(*args, **kwargs)
    finally:
        encoder[0] += time.thread_time() - t
cs.compress = timed
import voxhub
from bench.data import voronoi_labels
labels = voronoi_labels(int(sys.argv[1]))
directory = tempfile.mkdtemp()
rows = []
try:
    with voxhub.open(os.path.join(directory, "store")) as hub:
        node = hub.create_repo("writes", "").master
        for i in range(2):
            lv = node.create_labels(f"seg{i}", block_shape=(64, 64, 64))
            encoder[0] = 0.0
            cpu, t = time.process_time(), time.perf_counter()
            lv.write((0, 0, 0), labels)
            wall = time.perf_counter() - t
            rows.append({"mb_s": labels.nbytes / 1e6 / wall, "cpu_s": time.process_time() - cpu,
                         "encoder_s": encoder[0]})
finally:
    shutil.rmtree(directory)
print(json.dumps(rows))
"""


def run(src: str, n: int) -> list[dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.getcwd()]))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n)], env=env, check=True, capture_output=True, text=True
    ).stdout
    rows: list[dict[str, float]] = json.loads(out.strip().splitlines()[-1])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trees", nargs=2, metavar="SRC", help="two src directories")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--n", type=int, default=512, help="side of the written cube")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {t: [] for t in args.trees}
    for r in range(args.rounds):
        order = args.trees if r % 2 == 0 else args.trees[::-1]
        for tree in order:
            rows = run(tree, args.n)
            results[tree].extend(rows)
            shown = ", ".join(
                f"{x['mb_s']:.0f} MB/s cpu {x['cpu_s']:.2f} s enc {x['encoder_s']:.2f} s"
                for x in rows
            )
            print(f"{r}: {tree}: {shown}  (load {os.getloadavg()[0]:.1f})", flush=True)
    for tree, rows in results.items():
        mb = [x["mb_s"] for x in rows]
        print(
            f"{tree}: best {max(mb):.0f} MB/s, median {statistics.median(mb):.0f};"
            f" CPU/write median {statistics.median(x['cpu_s'] for x in rows):.2f} s;"
            f" encoder (GIL held) median {statistics.median(x['encoder_s'] for x in rows):.3f} s"
        )


if __name__ == "__main__":
    main()
