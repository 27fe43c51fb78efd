"""A stand-in for a synced annotation: elements per body, as an ``ElementSource``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from voxhub.datatypes.labelsz.keys import KINDS, SYNAPTIC


@dataclass
class FakeElements:
    """``{body: [(kind, (z, y, x)), ...]}``."""

    bodies_elements: dict[int, list[tuple[str, tuple[int, int, int]]]] = field(default_factory=dict)

    def kinds_of_body(self, body: int) -> dict[str, int]:
        return dict(Counter(kind for kind, _ in self.bodies_elements.get(body, [])))

    def positions_of_body(self, body: int, kind: str) -> np.ndarray:
        points = [p for k, p in self.bodies_elements.get(body, []) if k == kind]
        return np.array(points, np.int64).reshape(-1, 3)

    def bodies(self) -> list[int]:
        return sorted(b for b, e in self.bodies_elements.items() if e)

    def expected(self, kind: str, inside: object = None) -> dict[int, int]:
        """``{body: count}`` of ``kind`` recounted (``inside(point)``: the ROI test)."""
        out: dict[int, int] = {}
        for body, elements in self.bodies_elements.items():
            n = sum(
                1
                for k, p in elements
                if (k == kind or (kind == "AllSyn" and k in SYNAPTIC))
                and (inside is None or inside(p))  # type: ignore[operator]
            )
            if n and body:
                out[body] = n
        return out


@dataclass
class FakeRoi:
    """An ROI of voxels with ``z < z_below`` (duck-types ``RoiReader.contains``)."""

    z_below: int

    def contains(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, np.int64).reshape(-1, 3)[:, 0] < self.z_below

    def inside(self, point: tuple[int, int, int]) -> bool:
        return point[0] < self.z_below


ALL_KINDS = list(KINDS)
