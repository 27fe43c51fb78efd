"""What the view tests' server fixtures give: a served store with a committed root and an
open child node."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Served:
    url: str
    root: str  # committed
    child: str  # open, on master
