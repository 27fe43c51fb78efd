"""Whatever ``Origin``, ``Host`` and ``Sec-Fetch-Site`` say, the cross-site and Host rules
answer with a decision (200, 403, 421), never a server error."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp

from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.hosts import host_name

from .asgi_call import call

# header values are latin-1 text in ASGI; mix plausible URLs with arbitrary bytes
texts = st.one_of(
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    st.from_regex(r"(https?|ftp)://\[?[a-z0-9:.\-]{0,20}\]?(:[0-9]{0,6})?/?", fullmatch=True),
    st.sampled_from(["null", "http://[::1", "http://a:99999", "http://a:-1", "same-origin"]),
)


@pytest.fixture(scope="module")
def app_and_uuid() -> Iterator[tuple[ASGIApp, str]]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("fuzz").master
    yield (
        create_app(hub, allowed_hosts=["data.lab.org"], allow_origins=["https://v.org"]),
        node.uuid,
    )
    hub.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    origin=st.one_of(texts, st.sampled_from(["http://localhost:8000", "https://v.org"])),
    host=st.one_of(texts, st.sampled_from(["localhost:8000", "data.lab.org", "[::1]"])),
    site=texts,
    write=st.booleans(),
)
def test_any_origin_host_and_fetch_site_get_a_decision(
    app_and_uuid: tuple[ASGIApp, str], origin: str, host: str, site: str, write: bool
) -> None:
    app, uuid = app_and_uuid
    headers = {"Origin": origin, "Sec-Fetch-Site": site}
    if write:
        answer = call(app, "POST", f"/api/node/{uuid}/note", headers, b"{}", host=host)
        assert answer.status in (200, 403, 421), answer.body
    else:
        answer = call(app, "GET", "/api/server/info", headers, host=host)
        assert answer.status in (200, 421), answer.body
    if answer.status != 200:
        assert json.loads(answer.body)["type"] in ("CrossSiteRefused", "HostNotAllowed")
    host_name(host)  # total on any text
