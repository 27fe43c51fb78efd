"""Shared CLI plumbing: the ``--store`` option, node refs, and one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

import voxhub
from voxhub.client import Hub, Node
from voxhub.errors import NotFound, VoxhubError

F = TypeVar("F", bound=Callable[..., Any])

STORE_ENV = "VOXHUB_STORE"

store_option = click.option(
    "--store",
    "-s",
    default="voxhub-store",
    show_default=True,
    envvar=STORE_ENV,
    show_envvar=True,
    help="Store path or URL: a directory (LMDB), lmdb:///dir, s3://bucket/prefix?endpoint=..., "
    f"or http://host:port (a voxhub server). Set ${STORE_ENV} to skip typing it.",
)

REF_HELP = (
    "REF names a version node: a repo alias (its master leaf), alias:branch, a UUID or "
    "unique prefix, uuid:branch, and any of these with ~N for the Nth ancestor."
)


def local_path(store: str) -> Path | None:
    """The directory of an LMDB store URL or path; None for other kinds of store."""
    parts = urlsplit(store)
    if parts.scheme in ("", "file", "lmdb"):
        if not parts.scheme:
            return Path(store)
        return Path(parts.netloc + parts.path)
    return None


@contextmanager
def opened(store: str, *, create: bool = False) -> Iterator[Hub]:
    """The hub of ``store``, closed afterwards.

    A local store that does not exist is created only when ``create`` (``repo create``);
    every other command refuses it rather than leave an empty store behind a typo.
    """
    path = local_path(store)
    if path is not None and not create and not path.exists():
        raise NotFound(
            f"no store at {store} (create one with `voxhub repo create`, or name another "
            f"with --store or ${STORE_ENV})"
        )
    hub = voxhub.open(store, mode="a" if create else "r+")
    try:
        yield hub
    finally:
        hub.close()


def node_of(hub: Hub, ref: str) -> Node:
    """The node named by ``ref`` (see :data:`REF_HELP`); a repo alias wins over a prefix.

    The catalog resolves UUIDs, prefixes, branches and ``~N``; this adds repo aliases by
    rewriting ``alias[:branch][~N]`` to ``<root uuid>:branch[~N]`` (branch master if none).
    """
    head, colon, tail = ref.partition(":")
    name, tilde, steps = head.partition("~")
    repo = next((r for r in hub.repos() if name and r.alias == name), None)
    if repo is None:
        return hub.node(ref)
    if colon and tilde:
        raise click.BadParameter(f"{ref!r}: put ~N after the branch (alias:branch~N)")
    return hub.node(f"{repo.root}:{tail if colon else 'master'}{tilde}{steps}")


def friendly_errors(fn: F) -> F:
    """Report foreseeable errors (voxhub's, and the OS's: missing files, permissions) as
    one ``Error: ...`` line with exit status 1, not a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VoxhubError as e:
            raise click.ClickException(f"{type(e).__name__}: {e}") from None
        except OSError as e:
            raise click.ClickException(str(e)) from None

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


def label_ids(values: tuple[str, ...], what: str) -> list[int]:
    """Parse label ids (decimal, 0..2**64-1), naming ``what`` on error."""
    out = []
    for v in values:
        try:
            n = int(v)
        except ValueError:
            raise click.BadParameter(f"{what} must be integers, got {v!r}") from None
        if not 0 <= n < 2**64:
            raise click.BadParameter(f"{what} must fit in 64 unsigned bits, got {v}")
        out.append(n)
    return out
