"""Cross-origin rules: any web page may read, only trusted ones may write.

Viewers such as neuroglancer read from other origins, so reads (``GET``, ``HEAD``) are
answered with ``Access-Control-Allow-Origin: *`` — without credentials, so a page of
another origin cannot read what a browser cookie unlocks; only the origins the operator
allows (``voxhub serve --allow-origin URL``) get their origin echoed with credentials, so
that a trusted viewer may use the login cookie. A write (any other method) passes when
it is

* sent with an ``Authorization: Bearer`` token while authentication is on (a page can
  only send a token it was given, and the authentication layer refuses a made-up one with
  401; with authentication off any string would do, so a token then counts for nothing).
  A cookie does *not* count: browsers attach cookies to forged requests, which is what
  cross-site request forgery abuses, and they may attach cached ``Basic`` credentials too;
* from a browser page of the same origin (``Origin`` naming this server's ``Host``, or
  ``Sec-Fetch-Site: same-origin``/``none``) or of an allowed origin
  (``voxhub serve --allow-origin URL``);
* not from a browser at all (no ``Origin``, no ``Sec-Fetch-Site``: curl, scripts, the
  Python client), since forgery needs a browser.

Anything else is refused with 403 naming the origin *before the body is read*: a
"simple" cross-origin ``POST`` (``text/plain`` or a form) reaches the server without a
preflight, so the refusal must come from here. ``Origin: null`` (sandboxed frames,
``file:`` and ``data:`` pages) is never trusted, since any page can produce it. A
preflight for a write is granted to allowed origins, and (authentication on) to any
origin announcing an ``Authorization`` header: the write itself must then carry a token.

Every answer to a page of another origin also names the headers its script may read
(``Access-Control-Expose-Headers``): a browser hides all but a few otherwise, and the
viewers need ``Content-Range`` (the ranged reads of sharded and Zarr shard files),
``Content-Length``, ``ETag`` and ``Content-Encoding``. A read's preflight that asks for
private network access (Chrome, before a public page such as the hosted neuroglancer reads
from a server on the user's own machine) is granted it.

Same-origin compares the ``Origin`` host and port with the ``Host`` header, not the
scheme: behind a TLS proxy the server sees ``http`` while the page is ``https``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxhub.errors import CrossSiteRefused
from voxhub.server.errors import error_response

#: methods a page of any origin may use
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
#: environment variable holding allowed origins (comma-separated) for the uvicorn factory
ALLOW_ORIGINS_ENV = "VOXHUB_ALLOW_ORIGINS"
#: the answer headers a page of another origin may read (beyond the CORS-safelisted ones)
EXPOSED_HEADERS = "Content-Range, Content-Length, Content-Encoding, Accept-Ranges, ETag"
#: how long a browser may cache a preflight answer
PREFLIGHT_MAX_AGE = "3600"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(text: str) -> str:
    """``scheme://host[:port]`` lower-cased, default port dropped (ValueError if not one).

    >>> normalize_origin("HTTPS://Viewer.Example.org:443/")
    'https://viewer.example.org'
    """
    value = text.strip()
    if value.lower() == "null":
        raise ValueError(
            "origin 'null' cannot be allowed: sandboxed frames and file: pages all send it"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"origin {text!r} is not an http(s)://host[:port] URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"origin {text!r} must be scheme://host[:port] only (no path)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"origin {text!r} has an invalid port") from None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _netloc_of_origin(origin: str) -> str | None:
    try:
        return normalize_origin(origin).split("://", 1)[1]
    except ValueError:
        return None


@dataclass(frozen=True)
class OriginPolicy:
    """Which web origins may write besides the server's own (normalised)."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, origins: Iterable[str]) -> OriginPolicy:
        """The policy allowing ``origins`` (ValueError naming a malformed one)."""
        return cls(frozenset(normalize_origin(o) for o in origins if o.strip()))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OriginPolicy:
        """The policy named by :data:`ALLOW_ORIGINS_ENV` (comma-separated)."""
        return cls.of(environ.get(ALLOW_ORIGINS_ENV, "").split(","))

    def trusted(self, headers: Headers) -> bool:
        """Whether the page sending ``headers`` may write without a token."""
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site", "").lower()
        if site in ("same-origin", "none"):
            return True  # set by the browser itself; a page cannot forge it
        if origin is None:
            return not site  # no browser headers at all: not a browser
        if origin.lower() == "null":
            return False
        netloc = _netloc_of_origin(origin)
        if netloc is not None and netloc == headers.get("host", "").lower():
            return True
        return self.listed(origin)

    def listed(self, origin: str) -> bool:
        """Whether ``origin`` was allowed by the operator (``--allow-origin``)."""
        netloc = _netloc_of_origin(origin)
        return netloc is not None and normalize_origin(origin) in self.allowed

    def read_grant(self, origin: str) -> dict[str, str]:
        """CORS headers for a read from ``origin``: cookies only for listed origins
        (a viewer the operator trusts may use the login cookie, any other page reads
        what needs no credentials)."""
        if self.listed(origin):
            return _credentialed(origin)
        anyone = {"Access-Control-Allow-Origin": "*"}
        # with an allow-list the answer depends on the origin: caches must know
        return {**anyone, "Vary": "Origin"} if self.allowed else anyone

    def refusal(self, headers: Headers, method: str) -> CrossSiteRefused:
        """The error explaining why a write from this page was refused."""
        origin = headers.get("origin") or f"a {headers.get('sec-fetch-site')} page"
        return CrossSiteRefused(
            f"{method} from {origin} refused: writes from other web origins need an "
            "'Authorization: Bearer' token (cookies do not count) or an origin the "
            "server allows (voxhub serve --allow-origin URL)"
        )


def has_bearer_token(headers: Headers) -> bool:
    """Whether the request carries ``Authorization: Bearer <something>`` (checked by
    the authentication layer; here only its presence matters)."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


class CrossSite:
    """ASGI middleware applying the module's rules and writing the CORS headers."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy, *, tokens: bool) -> None:
        self.app = app
        self.policy = policy
        #: whether bearer tokens are checked (authentication on); if not, anyone can
        #: make one up, so a token then earns a cross-origin page nothing
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = scope["method"]
        origin = headers.get("origin")
        if method == "OPTIONS" and origin and "access-control-request-method" in headers:
            await self._preflight(headers, origin)(scope, receive, send)
            return
        allow: dict[str, str] = {}
        if method not in READ_METHODS:
            if self.policy.trusted(headers):
                if origin and origin.lower() != "null":
                    allow = _credentialed(origin)
            elif self.tokens and has_bearer_token(headers):
                allow = {"Access-Control-Allow-Origin": "*"}
            else:  # answered before the body is read: the forged write never lands
                await error_response(self.policy.refusal(headers, method))(scope, receive, send)
                return
        elif origin:
            allow = self.policy.read_grant(origin)
        if not allow:
            await self.app(scope, receive, send)
            return
        allow["Access-Control-Expose-Headers"] = EXPOSED_HEADERS

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for key, value in allow.items():
                    if key == "Vary":
                        out.add_vary_header(value)
                    else:
                        out[key] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, headers: Headers, origin: str) -> ASGIApp:
        requested = headers["access-control-request-method"].upper()
        asked = headers.get("access-control-request-headers", "")
        grant = {
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        }
        if asked:
            grant["Access-Control-Allow-Headers"] = asked
        if requested in READ_METHODS:
            grant.update(self.policy.read_grant(origin))
            if headers.get("access-control-request-private-network", "").lower() == "true":
                # Chrome asks before a public page (a hosted neuroglancer) reads from a
                # server on the user's machine or network (Private Network Access)
                grant["Access-Control-Allow-Private-Network"] = "true"
        elif self.policy.trusted(headers) and origin.lower() != "null":
            grant.update(_credentialed(origin))
        elif self.tokens and "authorization" in {h.strip().lower() for h in asked.split(",")}:
            grant["Access-Control-Allow-Origin"] = "*"
        else:
            return error_response(self.policy.refusal(headers, requested))
        return PlainTextResponse("OK", headers=grant)


def _credentialed(origin: str) -> dict[str, str]:
    """Headers granting one trusted origin, cookies included."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }
