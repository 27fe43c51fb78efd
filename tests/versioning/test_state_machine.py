"""The real catalog + versioned views against the pure model, on every backend."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from voxhub.testing.versioned import versioned_state_machine

from .conftest import BACKENDS, destroy

SETTINGS = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestMemoryVersioning = versioned_state_machine(BACKENDS["memory"], destroy).TestCase
TestMemoryVersioning.settings = SETTINGS
TestLmdbVersioning = versioned_state_machine(BACKENDS["lmdb"], destroy).TestCase
TestLmdbVersioning.settings = SETTINGS
