"""The server's worker keeps freed memory for reuse (glibc), unless the operator tuned
malloc already."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CALL = "from voxhub.server.malloc_tuning import retain_freed_memory; print(retain_freed_memory())"


def _run(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", CALL], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_thresholds_are_raised_on_glibc() -> None:
    assert _run({}) == "True"


def test_an_operators_malloc_settings_are_left_alone() -> None:
    assert _run({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}) == "False"
    assert _run({"MALLOC_ARENA_MAX": "2"}) == "False"
