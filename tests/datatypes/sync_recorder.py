"""A datatype that follows labelmaps and records what they tell it, for sync tests.

``install(monkeypatch)`` registers it for one test only (the registry is restored after).
Its ``on_label_change`` stores a key per call through its own joined transaction view,
so a test sees whether its writes committed with the mutation; ``fail`` makes it raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from voxhub.datatypes import registry
from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.registry import Datatype
from voxhub.datatypes.sync import LabelChange, LabelSource, synced_names
from voxhub.datatypes.sync_config import sync_from_settings
from voxhub.datatypes.wire.dvid_settings import FromSettings
from voxhub.errors import InvalidRequest
from voxhub.versioning.protocols import VersionedTxn
from voxhub.versioning.records import InstanceInfo

TYPENAME = "synctestrecorder"


@dataclass
class Recorder:
    """What the recording follower saw: one entry per call."""

    changes: list[LabelChange] = field(default_factory=list)
    #: the supervoxel at each recorded probe point, read through the LabelSource
    probes: list[np.ndarray] = field(default_factory=list)
    #: bodies of the probed supervoxels and the supervoxels of every changed body
    bodies: list[np.ndarray] = field(default_factory=list)
    members: list[dict[int, list[int]]] = field(default_factory=list)
    probe: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    fail: bool = False
    #: (node, instance name, its syncs) of every ``build_synced`` call
    built: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def build_synced(self, access: StoreAccess, node_uuid: str, info: InstanceInfo) -> None:
        self.built.append((node_uuid, info.name, synced_names(info)))

    def on_label_change(
        self, txn: VersionedTxn, info: InstanceInfo, labels: LabelSource, change: LabelChange
    ) -> frozenset[int]:
        self.changes.append(change)
        svs = labels.supervoxels_at(self.probe)
        self.probes.append(svs)
        self.bodies.append(labels.bodies_of(svs))
        self.members.append({b: labels.supervoxels_of(b) for b in change.bodies})
        calls = len(self.changes)
        txn.put(b"call" + calls.to_bytes(4, "big"), repr(sorted(change.bodies)).encode())
        if self.fail:
            raise InvalidRequest("the recording follower refuses this change")
        return frozenset()


def from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    return FromSettings(sync_from_settings(settings), frozenset(settings) - {"sync"})


def install(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Register the recorder datatype for this test; its calls go to the returned Recorder."""
    recorder = Recorder()
    registry.typenames()  # built-ins first, as a plug-in would find them
    datatype = Datatype(
        name="synctest",
        typenames=(TYPENAME,),
        describe_tkey=lambda tkey: tkey.hex(),
        summary="records the label changes of the labelmap it follows (tests only)",
        routes=lambda: [],
        sync_targets=("labelmap",),
        on_label_change=recorder.on_label_change,
        build_synced=recorder.build_synced,
        config_from_settings=from_settings,
    )
    monkeypatch.setitem(registry._registry, TYPENAME, datatype)
    return recorder
