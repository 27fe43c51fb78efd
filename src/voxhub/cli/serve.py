"""``voxhub serve``: the HTTP server on uvicorn, one or several worker processes.

Workers are separate processes (uvicorn's factory mode): each one opens the store named by
``$VOXHUB_STORE`` itself, so they share one LMDB environment or object store safely.
"""

from __future__ import annotations

import os

import click

from voxhub.server.app import MAX_BYTES_ENV, STORE_ENV


@click.command()
@click.option(
    "--store",
    default="voxhub-store",
    show_default=True,
    help="Store to serve: a directory (LMDB, created if needed), lmdb:///dir, memory:// "
    "(single worker only) or s3://bucket/prefix?endpoint=...",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--max-request-bytes",
    default=1 << 30,
    show_default=True,
    type=click.IntRange(1),
    help="Largest request body or cutout; larger ones get 413.",
)
def serve(store: str, host: str, port: int, workers: int, max_request_bytes: int) -> None:
    """Serve a store over HTTP with DVID's REST API."""
    import uvicorn

    from voxhub.client.embedded import EmbeddedHub

    if store.startswith("memory://") and workers > 1:
        raise click.BadParameter(
            "a memory:// store cannot be shared by workers", param_hint="--store"
        )
    try:  # fail here with a clear message rather than in every worker
        EmbeddedHub.open(store).close()
    except Exception as e:
        raise click.ClickException(f"cannot open store {store!r}: {e}") from e
    os.environ[STORE_ENV] = store
    os.environ[MAX_BYTES_ENV] = str(max_request_bytes)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    click.echo(f"voxhub serving {store} at http://{shown}:{port}/ ({workers} worker(s))")
    uvicorn.run(
        "voxhub.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
