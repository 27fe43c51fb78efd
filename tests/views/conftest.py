"""Fixtures shared by the view tests: one headless neuroglancer for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voxhub.testing.neuroglancer import NeuroglancerBrowser, unavailable


@pytest.fixture(scope="session")
def neuroglancer_browser() -> Iterator[NeuroglancerBrowser]:
    """pip ``neuroglancer``'s viewer in headless Chromium (skips where either is missing);
    each test sets the layers it shows (``browser.screenshot(layers, View(...))``)."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    with NeuroglancerBrowser() as browser:
        yield browser
