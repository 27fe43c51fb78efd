"""A progress bar for long transfers: tqdm when installed and wanted, otherwise nothing."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class _Silent:
    """Stands in for tqdm when progress is off or tqdm is not installed."""

    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "slice") -> Any:
    """A context-managed bar counting ``unit`` (z slices, blocks); silent without tqdm
    (``voxhub[io]``)."""
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:  # the bar is a nicety: the transfer itself does not need it
            pass
        else:
            return tqdm(total=total, unit=unit, desc=desc)
    return _Silent()
