"""Shared CLI plumbing: the ``--store`` option and turning voxhub errors into messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import click

import voxhub
from voxhub.client import Hub
from voxhub.errors import VoxhubError

F = TypeVar("F", bound=Callable[..., Any])

store_option = click.option(
    "--store",
    "-s",
    default="voxhub-store",
    show_default=True,
    envvar="VOXHUB_STORE",
    help="Store path or URL (a directory = LMDB, lmdb:///dir, s3://bucket/prefix?endpoint=...).",
)


@contextmanager
def opened(store: str) -> Iterator[Hub]:
    """The hub of ``store``, closed afterwards."""
    hub = voxhub.open(store)
    try:
        yield hub
    finally:
        hub.close()


def friendly_errors(fn: F) -> F:
    """Report voxhub errors as one clear line and exit status 1, not a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VoxhubError as e:
            raise click.ClickException(f"{type(e).__name__}: {e}") from None

    return wrapper  # type: ignore[return-value]


def triple(text: str, what: str, cast: Callable[[str], Any] = int) -> tuple[Any, Any, Any]:
    """Parse ``"z,y,x"`` into a 3-tuple, naming ``what`` on error."""
    parts = [p for p in text.replace("_", ",").split(",") if p.strip()]
    if len(parts) != 3:
        raise click.BadParameter(f"{what} needs 3 comma-separated values (z,y,x), got {text!r}")
    try:
        values = [cast(p) for p in parts]
    except ValueError:
        raise click.BadParameter(f"{what} values must be numbers, got {text!r}") from None
    return (values[0], values[1], values[2])
