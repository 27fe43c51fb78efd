"""Routes for browsers and viewers: log in (the token cookie), log out, neuroglancer's
token route, and who the server takes the caller for.

* ``POST /api/server/login`` with ``{"token": "..."}`` (JSON) or ``token=...`` (a form)
  checks the token and sets it as an ``HttpOnly``, ``SameSite=Lax`` cookie (``Secure``
  over HTTPS), so a browser on this site sends it with every request; a form post is
  sent back to the home page. ``GET /api/server/login`` is that form;
* ``POST /api/server/logout`` clears the cookie;
* ``GET /api/server/token`` answers the cookie's token as text: neuroglancer's ``dvid://``
  source over ``https://`` asks this route (with credentials) for the token it then
  sends as ``Authorization: Bearer``;
* ``GET /api/voxhub/whoami``: ``{"user", "admin", "roles", "auth"}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute

from voxhub.datatypes.wire.api import Api, ApiRoute
from voxhub.datatypes.wire.json_input import parse_json
from voxhub.errors import InvalidRequest, TooLarge, Unauthorized
from voxhub.server.auth.gate import Gate

#: a login body holds one token: anything longer is not one
MAX_LOGIN_BYTES = 8192
LOGIN_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>voxhub login</title></head>"
    "<body><h1>voxhub</h1><form method='post' action='/api/server/login'>"
    "<label>Token <input type='password' name='token' size='60' autofocus></label> "
    "<button>Log in</button></form>"
    "<p>An administrator makes tokens with <code>voxhub auth token create NAME</code>.</p>"
    "</body></html>"
)


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


async def _small_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BYTES:
            raise TooLarge(f"a login body is at most {MAX_LOGIN_BYTES} bytes")
    return body


def _token_field(request: Request, body: bytes) -> str:
    if _is_json(request):
        data: Any = parse_json(body or b"{}", "login body")
        token = data.get("token") if isinstance(data, dict) else None
    else:
        token = next(iter(parse_qs(body.decode("latin-1")).get("token", [])), None)
    if not isinstance(token, str) or not token:
        raise InvalidRequest("login needs a field 'token' (JSON or form)")
    return token


def auth_routes(gate: Gate) -> list[BaseRoute]:
    """The login, logout, token and whoami routes of an app."""
    cookie = gate.config.cookie

    async def login(request: Request) -> Response:
        """Check a token and keep it in the browser's cookie."""
        if not gate.enabled:
            raise InvalidRequest("this server runs without authentication: there is no login")
        token = _token_field(request, await _small_body(request))
        who = await gate.run(
            gate.authenticator.principal, token, network=gate.authenticator.needs_thread
        )
        # a browser's form goes back to the home page, now showing what the user may see
        reply: Response = (
            JSONResponse({"user": who.user})
            if _is_json(request)
            else RedirectResponse("/", status_code=303)
        )
        reply.set_cookie(
            cookie,
            token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        return reply

    async def login_page(request: Request) -> Response:
        """A form to log in with a token (for browsers)."""
        return HTMLResponse(LOGIN_PAGE)

    async def logout(request: Request) -> Response:
        """Forget the cookie."""
        reply = JSONResponse({"user": ""})
        reply.delete_cookie(cookie, path="/", httponly=True, samesite="lax")
        return reply

    async def token(request: Request) -> Response:
        """The cookie's token, as text (neuroglancer's token route)."""
        found = request.cookies.get(cookie)
        if not found:
            raise Unauthorized("no login cookie: POST a token to /api/server/login first")
        return PlainTextResponse(found)

    async def whoami(request: Request) -> Response:
        """Who the server takes the caller for, and its roles."""
        who = gate.principal_of(request.scope)
        return JSONResponse(
            {
                "user": who.user,
                "admin": who.admin,
                "roles": {repo: role.label for repo, role in sorted(who.roles.items())},
                "auth": gate.config.mode.value,
            }
        )

    form = ("application/json", "application/x-www-form-urlencoded")
    token_body = {"type": "object", "properties": {"token": {"type": "string"}}}
    login_api = Api(body=form, body_schema=token_body, body_required=True)
    return [
        ApiRoute("/api/server/login", login, methods=["POST"], api=login_api),
        ApiRoute("/api/server/login", login_page, methods=["GET"], api=Api(answers=("text/html",))),
        ApiRoute("/api/server/logout", logout, methods=["POST"]),
        ApiRoute("/api/server/token", token, methods=["GET"], api=Api(answers=("text/plain",))),
        ApiRoute("/api/voxhub/whoami", whoami, methods=["GET"]),
    ]
