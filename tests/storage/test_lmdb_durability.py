"""An embedded (LMDB) write is on disk when it returns.

Three checks, from weakest to strongest:

* ``kill -9`` right after writes were acknowledged loses none of them. This catches a
  write that returns before it is committed (queued in a thread, batched, buffered in
  the process) but *not* one that is committed without ``fsync``: SIGKILL ends the
  process, not the kernel, so the page cache still reaches the disk later. Only a power
  cut or kernel crash would show that, which a test cannot cause.
* The environment is opened with ``sync`` and ``metasync`` on and ``map_async`` off
  (white-box: the flags LMDB reports for the store's environment).
* Under ``strace``, every write to ``data.mdb`` made while ``vol[...] = data`` (or an
  ``import_volume``, whose bulk writes drop cached pages) runs is made durable before the
  call returns: it goes through LMDB's ``O_DSYNC`` descriptor or
  is followed by an ``fdatasync``/``fsync`` of the file. This is the property itself,
  observed at the system-call boundary (skipped where ``strace`` is not installed or
  ptrace is not permitted).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import voxhub
from voxhub.storage.lmdb_store import LmdbStore

SRC = str(Path(voxhub.__file__).parents[1])

#: A subprocess that writes slab after slab and acknowledges each once the write returned.
WRITER = """
import sys
sys.path.insert(0, {src!r})
import numpy as np, voxhub
hub = voxhub.open(sys.argv[1])
vol = hub.repo("d").master.volume("em")
for i in range(1000):
    vol[i * 8:(i + 1) * 8, 0:16, 0:16] = np.full((8, 16, 16), i % 250 + 1, np.uint8)
    print("ack", i, flush=True)
"""


def make_store(path: Path) -> None:
    with voxhub.open(str(path)) as hub:
        hub.create_repo("d").master.create_volume("em", "uint8", block_shape=(8, 16, 16))


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    store = tmp_path / "store"
    make_store(store)
    with subprocess.Popen(
        [sys.executable, "-c", WRITER.format(src=SRC), str(store)],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        acked = -1
        for line in proc.stdout:  # kill as soon as a few writes were acknowledged
            acked = int(line.split()[1])
            if acked >= 5:
                proc.send_signal(signal.SIGKILL)
                break
    assert proc.returncode == -signal.SIGKILL, "the writer ended before it was killed"
    with voxhub.open(str(store)) as hub:
        vol = hub.repo("d").master.volume("em")
        for i in range(acked + 1):
            slab = vol[i * 8 : (i + 1) * 8, 0:16, 0:16]
            assert (slab == i % 250 + 1).all(), f"acknowledged write {i} was lost"


def test_lmdb_environment_syncs_on_commit(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "store")
    try:
        flags = store._env()._live().flags()  # white-box: the flags of the shared handle
    finally:
        store.close()
    assert flags["sync"] is True
    assert flags["metasync"] is True
    assert flags["map_async"] is False


MARKED_WRITE = """
import os, sys
sys.path.insert(0, {src!r})
import numpy as np, voxhub
hub = voxhub.open(sys.argv[1])
vol = hub.repo("d").master.volume("em")
data = np.random.default_rng(1).integers(0, 255, (32, 32, 32), dtype=np.uint8)
def mark(name):  # a failing stat() of an odd path shows up in the trace as a marker
    try:
        os.stat("/voxhub-durability-" + name)
    except OSError:
        pass
mark("start")
{write}
mark("done")
hub.close()
"""

_SYSCALL = re.compile(r"^\d+\s+(\w+)\((\d+)<([^>]*)>")
_OPENED = re.compile(r'^\d+\s+openat\(.*"([^"]+)", ([A-Z_|]+).*\) = (\d+)<')


#: the traced write: one assignment, or an import in several tasks (several commits)
WRITES = {
    "assignment": "vol[0:32, 0:32, 0:32] = data",
    "import": "from voxhub.transfer import import_volume; "
    "from voxhub.transfer.sources import ArraySource; "
    "import_volume(vol, ArraySource(data, 'data'), progress=False, task_bytes=8192)",
}


def trace_write(store: Path, tmp_path: Path, write: str = WRITES["assignment"]) -> list[str]:
    log = tmp_path / "strace.log"
    cmd = ["strace", "-f", "-y", "-o", str(log), "-e",
           "trace=openat,write,writev,pwrite64,pwritev,pwritev2,fsync,fdatasync,msync,newfstatat,stat",
           sys.executable, "-c", MARKED_WRITE.format(src=SRC, write=write), str(store)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 and "ptrace" in result.stderr:
        pytest.skip(f"strace cannot trace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines()


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
@pytest.mark.parametrize("how", sorted(WRITES))
def test_a_write_returns_only_after_its_pages_are_synced(tmp_path: Path, how: str) -> None:
    store = tmp_path / "store"
    make_store(store)
    lines = trace_write(store, tmp_path, WRITES[how])
    data_file = os.path.realpath(store / "data.mdb")
    dsync_fds: set[str] = set()
    unsynced: list[str] = []  # writes to data.mdb not yet made durable
    phase = "before"
    for line in lines:
        if "voxhub-durability-start" in line:
            phase = "during"
        elif "voxhub-durability-done" in line:
            assert not unsynced, f"write returned before these reached the disk: {unsynced}"
            phase = "after"
        if (opened := _OPENED.match(line)) and os.path.realpath(opened[1]) == data_file:
            fd = opened[3]
            (dsync_fds.add if re.search(r"O_D?SYNC", opened[2]) else dsync_fds.discard)(fd)
        call = _SYSCALL.match(line)
        if call is None or os.path.realpath(call[3]) != data_file:
            continue
        name, fd = call[1], call[2]
        if name.startswith(("write", "pwrite")) and fd not in dsync_fds:
            assert phase != "after", f"data.mdb written after the write returned: {line}"
            if phase == "during":
                unsynced.append(line[:120])
        elif name in ("fsync", "fdatasync"):
            unsynced.clear()
    assert phase == "after", "the traced write did not run"
    assert any("voxhub-durability-start" in s for s in lines)
    with voxhub.open(str(store)) as hub:  # and the traced write did write the data
        vol = hub.repo("d").master.volume("em")
        expected = np.random.default_rng(1).integers(0, 255, (32, 32, 32), dtype=np.uint8)
        assert np.array_equal(vol[0:32, 0:32, 0:32], expected)
