"""``voxhub serve``: the HTTP server on uvicorn, one or several worker processes.

Workers are separate processes (uvicorn's factory mode): each one opens the store named by
``$VOXHUB_STORE`` itself, so they share one LMDB environment or object store safely.
Before anything is printed, the address is tried: a port already in use is one clear
line on stderr and exit status 1, never a "serving at" line followed by a traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from typing import Any

import click

from voxhub.cli.serve_auth import auth_config, auth_options
from voxhub.cli.serve_guard import apply_guard_options, guard_options
from voxhub.server.app import (
    ACCESS_LOG_ENV,
    AUTH_ENV,
    COMPRESS_LOOPBACK_ENV,
    MAX_BYTES_ENV,
    METRICS_ENV,
    STORE_ENV,
    VIEW_CACHE_ENV,
)
from voxhub.server.metrics import MULTIPROC_ENV
from voxhub.server.metrics_route import METRICS_ACCESS
from voxhub.server.view_cache import serve_view_cache_bytes
from voxhub.server.view_cache_shared import SHARED_VIEW_CACHE_ENV, clear_shared_view_cache


def address_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (``None`` if it can), as uvicorn binds it.

    The probe socket is closed at once; uvicorn binds the address again a moment later.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        return f"cannot resolve host {host!r}: {e.strerror}"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (try --port N or PORT=N make serve)"
                )
            return f"cannot listen on {host}:{port}: {e.strerror or e}"
    return None


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
@click.option(
    "--access-log",
    is_flag=True,
    default=False,
    help="Log one JSON line per request to stderr: request id, method, path, route, "
    "query, status, bytes, ms, and the user (authenticated, or DVID's ?u=).",
)
@click.option(
    "--metrics",
    type=click.Choice(METRICS_ACCESS),
    default="public",
    show_default=True,
    help="Who may read the Prometheus metrics at GET /metrics: anyone (public), server "
    "admins only (admin), or nobody: no route (off).",
)
@click.option(
    "--view-cache-mb",
    default=None,
    type=click.IntRange(0),
    help="Encoded precomputed/Zarr chunks, shards and meshes kept in memory per worker, "
    "and as much again in a file the workers share (0: none). Default: a sixteenth of "
    "the memory (the cgroup's limit if lower), at most 8 GiB, split among the workers, "
    "at least 256 MiB each.",
)
@click.option(
    "--compress-loopback",
    is_flag=True,
    default=False,
    help="Compress precomputed view answers (zstd/gzip) for clients on this machine "
    "too. By default a request straight from a loopback address gets them as they are "
    "(no network to save bytes on); use this behind a local proxy that does not send "
    "X-Forwarded-For.",
)
@auth_options
@guard_options
def serve(
    store: str,
    host: str,
    port: int,
    workers: int,
    max_request_bytes: int,
    access_log: bool,
    metrics: str,
    view_cache_mb: int | None,
    compress_loopback: bool,
    **options: Any,
) -> None:
    """Serve a store over HTTP with DVID's REST API."""
    import uvicorn

    from voxhub.service import Service

    if store.startswith("memory://") and workers > 1:
        raise click.BadParameter(
            "a memory:// store cannot be shared by workers", param_hint="--store"
        )
    problem = address_problem(host, port)
    if problem is not None:
        click.echo(f"voxhub serve: {problem}", err=True)
        raise SystemExit(1)
    try:  # fail here with a clear message rather than in every worker
        Service.open(store).close()
    except Exception as e:
        raise click.ClickException(f"cannot open store {store!r}: {e}") from e
    config = auth_config(store, host, options)  # refuses a reachable server without auth
    os.environ[AUTH_ENV] = config.to_json()
    os.environ[STORE_ENV] = store
    os.environ[MAX_BYTES_ENV] = str(max_request_bytes)
    os.environ[ACCESS_LOG_ENV] = "1" if access_log else "0"
    uvicorn_settings = apply_guard_options(host, options)
    os.environ[METRICS_ENV] = metrics
    if view_cache_mb is None:
        view_cache_mb = serve_view_cache_bytes(workers) >> 20
    os.environ[VIEW_CACHE_ENV] = str(view_cache_mb << 20)
    os.environ[COMPRESS_LOOPBACK_ENV] = "1" if compress_loopback else "0"
    # Workers are processes: /metrics sums what each wrote to this directory (metrics.py).
    own_dirs = []
    if workers > 1 and metrics != "off" and not os.environ.get(MULTIPROC_ENV):
        own_dirs.append(tempfile.mkdtemp(prefix="voxhub-metrics-"))
        os.environ[MULTIPROC_ENV] = own_dirs[-1]
    # ... and share the view answers any of them made (server/view_cache_shared.py)
    if workers > 1 and view_cache_mb and not os.environ.get(SHARED_VIEW_CACHE_ENV):
        own_dirs.append(tempfile.mkdtemp(prefix="voxhub-view-cache-"))
        os.environ[SHARED_VIEW_CACHE_ENV] = own_dirs[-1]
    elif view_cache_mb and os.environ.get(SHARED_VIEW_CACHE_ENV):
        # one given to us may hold what an older voxhub encoded otherwise: start it empty
        clear_shared_view_cache(os.environ[SHARED_VIEW_CACHE_ENV], view_cache_mb << 20)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    click.echo(
        f"voxhub serving {store} at http://{shown}:{port}/ ({workers} worker(s), "
        f"auth {config.mode.value}, view cache {view_cache_mb} MiB per worker)"
    )
    try:
        uvicorn.run(
            "voxhub.server.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            # voxhub's own access log is the Observe sink; uvicorn's would format every
            # request's path (urllib quoting) only for the warning level to drop it
            access_log=False,
            **uvicorn_settings,
        )
    finally:
        for own_dir in own_dirs:
            shutil.rmtree(own_dir, ignore_errors=True)
