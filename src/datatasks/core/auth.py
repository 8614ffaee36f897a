"""Optional API keys: with API_KEYS set, every route but health checks and signed downloads
needs `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from datatasks.core.problems import problem_response

# Health checks are for load balancers; signed links carry their own proof.
_OPEN = re.compile(r"^/health/(live|ready)$|^/exports/[^/]+/download$|^/uploads/[^/]+/rejects$")


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or _OPEN.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response = problem_response(
            Request(scope),
            status=401,
            title="Unauthorized",
            detail="send `Authorization: Bearer <API key>`",
            slug="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="datatasks"'},
        )
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    return False
                token = token.strip()
                # Every key is compared, in constant time, so timing tells nothing.
                matches = [hmac.compare_digest(token, key) for key in self.keys]
                return any(matches)
        return False
