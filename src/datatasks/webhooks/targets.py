"""Where a webhook may go: the `callback_url` rules, checked when a job is requested and again,
against the addresses the host resolves to, before every attempt (no SSRF).

- only `http` and `https`, no credentials in the URL;
- only hosts WEBHOOK_ALLOWED_HOSTS allows (see Settings.webhook_allowed_hosts);
- a private, loopback, link-local or otherwise non-public address only when an entry other
  than `*` names it or its host. Every address the host resolves to must be allowed, and the
  attempt connects to the address that was checked, so a DNS answer that changes between the
  check and the connection (rebinding) cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from datatasks.core.config import Settings
from datatasks.core.errors import InvalidParameters

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_S = 2.0


class TargetRefused(ValueError):
    """A URL the rules do not allow; its message says which rule and what to change."""


@dataclass(frozen=True, slots=True)
class Url:
    scheme: str
    host: str  # lower case; an IPv6 address without brackets
    port: int

    @classmethod
    def parse(cls, url: str) -> Url:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise TargetRefused(f"not a URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise TargetRefused("only http:// and https:// URLs are called")
        if not parts.hostname:
            raise TargetRefused("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise TargetRefused(
                "credentials in the URL are not accepted: verify the webhook's signature instead"
            )
        return cls(
            parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)
        )

    @property
    def literal(self) -> IPAddress | None:
        try:
            return _unmapped(ipaddress.ip_address(self.host))
        except ValueError:
            return None


def _well_formed(url: str) -> str:
    Url.parse(url)
    return url


CallbackUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2_048,
        description=(
            "Told when the job ends: the service POSTs the job's status document here, signed"
            " per Standard Webhooks. http(s) only; hosts as WEBHOOK_ALLOWED_HOSTS allows."
        ),
        examples=["https://hooks.example.com/datatasks"],
    ),
    AfterValidator(_well_formed),
]


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class HostPolicy:
    """WEBHOOK_ALLOWED_HOSTS, parsed."""

    def __init__(self, entries: list[str]) -> None:
        self.any_public = "*" in entries
        self.names: set[str] = set()
        self.suffixes: list[str] = []
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            if entry == "*":
                continue
            if entry.startswith("*."):
                self.suffixes.append(entry[1:])
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self.names.add(entry)

    def _named(self, url: Url) -> bool:
        """An entry other than `*` names this host."""
        return url.host in self.names or any(url.host.endswith(s) for s in self.suffixes)

    def _listed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def check_host(self, url: Url) -> None:
        """The host may be called at all (before resolving it)."""
        literal = url.literal
        if literal is not None:
            if self._listed(literal) or (self.any_public and literal.is_global):
                return
            if not literal.is_global:
                raise TargetRefused(
                    f"{literal} is not a public address; list it in WEBHOOK_ALLOWED_HOSTS to"
                    " allow it"
                )
            raise TargetRefused(f"{literal} is not allowed by WEBHOOK_ALLOWED_HOSTS")
        if not (self.any_public or self._named(url)):
            raise TargetRefused(f"host {url.host!r} is not allowed by WEBHOOK_ALLOWED_HOSTS")

    def check_address(self, url: Url, address: IPAddress) -> None:
        """`url`'s host resolved to `address`: may it be called there?"""
        address = _unmapped(address)
        if address.is_global or self._listed(address) or self._named(url):
            return
        raise TargetRefused(
            f"host {url.host!r} resolves to {address}, which is not a public address; list the"
            " host or the address in WEBHOOK_ALLOWED_HOSTS to allow it"
        )

    async def resolve(self, url: Url) -> IPAddress:
        """The address to connect to: every address the host has must be allowed (so a
        round-robin answer cannot slip a private one in); the first is used."""
        self.check_host(url)
        if (literal := url.literal) is not None:
            return literal
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                infos = await loop.getaddrinfo(
                    url.host, url.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                )
        except (OSError, TimeoutError) as exc:
            raise TargetUnreachable(f"cannot resolve {url.host!r}: {exc or 'timed out'}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise TargetUnreachable(f"{url.host!r} has no address")
        for address in addresses:
            self.check_address(url, address)
        return _unmapped(addresses[0])


class TargetUnreachable(OSError):
    """The host cannot be resolved now; later attempts may fare better."""


async def accept_callback(url: str | None, settings: Settings) -> None:
    """The request-time check of a `callback_url`: webhooks are configured, and the URL's host
    is allowed and resolves to allowed addresses; a 422 naming the field otherwise."""
    if url is None:
        return
    try:
        if settings.webhook_secret is None:
            raise TargetRefused(
                "this service sends no webhooks: it has no WEBHOOK_SECRET (`datatasks "
                "webhook-secret` makes one)"
            )
        await HostPolicy(settings.webhook_allowed_hosts).resolve(Url.parse(url))
    except (TargetRefused, TargetUnreachable) as exc:
        raise InvalidParameters(["body", "callback_url"], str(exc)) from None
