"""The datatype registry: built-ins are always there, whoever registers or looks up first,
from however many threads."""

from __future__ import annotations

import threading

import pytest

from voxhub.datatypes import registry
from voxhub.errors import Conflict, InvalidRequest

BUILTIN_TYPENAMES = (
    "uint8blk",
    "uint16blk",
    "uint32blk",
    "uint64blk",
    "float32blk",
    "labelmap",
    "roi",
    "annotation",
    "labelsz",
    "neuronjson",
    "keyvalue",
)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry as a new process sees it: nothing loaded yet."""
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_builtins_loaded", False, raising=False)


def _plugin(name: str = "plugin", typenames: tuple[str, ...] = ("pluginblk",)) -> registry.Datatype:
    return registry.Datatype(name, typenames, bytes.hex, "a plug-in")


def test_a_plugin_registered_first_does_not_hide_the_builtins(fresh: None) -> None:
    plugin = _plugin()
    registry.register(plugin)
    assert registry.datatype_for("pluginblk") is plugin
    assert registry.datatype_for("uint8blk").name == "imageblk"
    assert registry.datatype_for("labelmap").name == "labelmap"
    assert set(BUILTIN_TYPENAMES) | {"pluginblk"} == set(registry.typenames())


def test_a_plugin_cannot_claim_a_builtin_typename_even_before_first_use(fresh: None) -> None:
    with pytest.raises(Conflict, match="uint8blk"):
        registry.register(_plugin("impostor", ("uint8blk",)))
    assert registry.datatype_for("uint8blk").name == "imageblk"


def test_registering_the_same_datatype_twice_is_harmless(fresh: None) -> None:
    plugin = _plugin()
    registry.register(plugin)
    registry.register(plugin)
    with pytest.raises(Conflict, match="pluginblk"):
        registry.register(_plugin("other"))


def test_unknown_typename_lists_the_known_ones(fresh: None) -> None:
    with pytest.raises(InvalidRequest, match=r"nosuchblk.*labelmap.*uint8blk"):
        registry.datatype_for("nosuchblk")


@pytest.mark.parametrize("round_", range(3))
def test_first_use_from_many_threads_sees_every_builtin(
    fresh: None, monkeypatch: pytest.MonkeyPatch, round_: int
) -> None:
    """Threads released together by a barrier all look up every built-in at once: none
    may see a half-loaded registry (the bug: "loaded" meant "not empty")."""
    real = registry.Datatype

    def slow_datatype(name: str, *args: object, **kwargs: object) -> registry.Datatype:
        # Hold whoever loads the built-ins between the first and the last one for a
        # moment. Correctness does not depend on this pause (the assertions hold for any
        # interleaving); it only makes a half-loaded registry visible when one exists.
        if name == "labelmap":
            threading.Event().wait(0.01)
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(registry, "Datatype", slow_datatype)
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    failures: list[BaseException] = []
    found: list[set[str]] = []

    def use() -> None:
        try:
            barrier.wait(timeout=30)
            found.append({registry.datatype_for(t).name for t in reversed(BUILTIN_TYPENAMES)})
        except BaseException as e:  # collected and re-raised in the test thread
            failures.append(e)

    threads = [threading.Thread(target=use) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[0]
    assert found == [{registry.datatype_for(t).name for t in BUILTIN_TYPENAMES}] * threads_n
    assert {"imageblk", "labelmap", "roi", "neuronjson", "keyvalue"} <= found[0]
