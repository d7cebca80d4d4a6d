"""Who may talk to the dashboard: the token, the Host header, the origin of changes, and the
only names from a request that ever reach the filesystem.

The rules (the how-to page says them to users):

- bound to a loopback address, reading needs no token; bound anywhere else, every request does;
- every request that changes something (a decision) needs the token *and* an ``Origin`` (or,
  without one, a ``Referer``) naming this very server: another site's page cannot post here;
- the ``Host`` header must name this server (a loopback name, or the address it is bound to),
  so a DNS-rebinding page that reaches 127.0.0.1 under its own name is refused;
- the token is taken from ``?token=``, the ``X-Phyper-Token`` header or the cookie the first
  tokened request sets (``HttpOnly``, ``SameSite=Strict``), and compared in constant time.

>>> guard = Guard("127.0.0.1", 8050, token="abc")
>>> guard.host_allowed("localhost:8050"), guard.host_allowed("evil.example:8050")
(True, False)
>>> guard.token_matches("abc"), guard.token_matches("abd")
(True, False)
"""

from __future__ import annotations

import http.cookies
import ipaddress
import re
import secrets
import socket
import typing
import urllib.parse

from .._errors import PhyperError
from .._store import HASH_PATTERN

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
TOKEN_HEADER = "x-phyper-token"
_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_RESOURCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")


class BadName(PhyperError, ValueError):
    """A hash, study or resource name from a request that is not one."""


def check_hash(value: str) -> str:
    """``value`` if it is a full 32-character lowercase hexadecimal hash.

    >>> check_hash("../../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    phyper.dashboard._security.BadName: '../../etc' is not a run hash: expected 32 ...
    """
    if not HASH_PATTERN.match(value):
        raise BadName(
            f"{value[:80]!r} is not a run hash: expected 32 lowercase hexadecimal characters"
        )
    return value


def check_study(value: str) -> str:
    """``value`` if it can name a study folder (letters, digits, ``_ . -``; no ``..``)."""
    if not _STUDY_NAME.match(value) or ".." in value:
        raise BadName(
            f"{value[:80]!r} is not a study name: expected letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


def check_resource(value: str) -> str:
    """``value`` if it can name a resource folder (an identifier)."""
    if not _RESOURCE.match(value):
        raise BadName(f"{value[:80]!r} is not a resource name: expected an identifier")
    return value


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """The checks of one server, bound to ``host``:``port``."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.loopback = is_loopback(host)
        self.cookie_name = f"phyper_token_{port}"
        names = set(LOOPBACK_NAMES)
        wildcard = host in ("0.0.0.0", "::", "")
        if not self.loopback and not wildcard:
            names.add(host if ":" not in host else f"[{host}]")
        self.any_host = wildcard  # every request needs the token there: rebinding gains nothing
        if wildcard:
            names.update({socket.gethostname(), socket.getfqdn()})
        self.host_names = frozenset(n.lower() for n in names)

    def host_allowed(self, header: str | None) -> bool:
        """Whether a ``Host`` header names this server."""
        if self.any_host:
            return True
        if not header:
            return False
        name, _, port = header.lower().rpartition(":")
        if not name or "]" in port:  # no port given ("localhost", "[::1]")
            name, port = header.lower(), ""
        return name in self.host_names and port in ("", str(self.port))

    def token_matches(self, presented: str | None) -> bool:
        return presented is not None and secrets.compare_digest(
            presented.encode("utf-8"), self.token.encode("utf-8")
        )

    def presented_token(self, query: str, headers: dict[str, str]) -> tuple[str | None, bool]:
        """The token a request carries, and whether it came in the query string (then the
        response sets the cookie)."""
        from_query = urllib.parse.parse_qs(query).get("token")
        if from_query:
            return from_query[0], True
        if TOKEN_HEADER in headers:
            return headers[TOKEN_HEADER], False
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except http.cookies.CookieError:
            return None, False
        morsel = cookies.get(self.cookie_name)
        return (morsel.value if morsel else None), False

    def same_origin(self, headers: dict[str, str]) -> bool:
        """Whether a changing request comes from a page of this server."""
        source = headers.get("origin") or headers.get("referer")
        host = headers.get("host")
        if not source or not host:
            return False
        parsed = urllib.parse.urlsplit(source)
        return parsed.scheme in ("http", "https") and parsed.netloc.lower() == host.lower()

    def cookie_header(self) -> str:
        return f"{self.cookie_name}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    def url(self, path: str = "/") -> str:
        """The address to open, token included (as Jupyter prints it)."""
        shown = self.host if self.host not in ("0.0.0.0", "::", "") else socket.gethostname()
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}{path}?token={self.token}"


class GuardMiddleware:
    """ASGI middleware applying a :class:`Guard` before any route runs (plain ASGI, so the
    server-sent event streams pass through unbuffered)."""

    def __init__(self, app: typing.Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(
        self, scope: dict[str, typing.Any], receive: typing.Any, send: typing.Any
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        guard = self.guard
        if not guard.host_allowed(headers.get("host")):
            await _refuse(send, 403, "Host header does not name this server (DNS rebinding?)")
            return
        token, from_query = guard.presented_token(query, headers)
        valid = guard.token_matches(token)
        changing = scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if (changing or not guard.loopback) and not valid:
            await _refuse(
                send, 403, "this dashboard needs its token: open the URL it printed at start"
            )
            return
        if changing and not guard.same_origin(headers):
            await _refuse(send, 403, "a change must come from a page of this dashboard (origin)")
            return
        if not (valid and from_query):
            await self.app(scope, receive, send)
            return
        cookie = guard.cookie_header().encode("latin-1")

        async def send_with_cookie(message: dict[str, typing.Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _refuse(send: typing.Any, status: int, text: str) -> None:
    body = (text + "\n").encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
