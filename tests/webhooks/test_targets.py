"""The callback_url rules: which URLs, hosts and addresses a webhook may go to."""

from __future__ import annotations

import ipaddress

import pytest

from datatasks.webhooks.targets import HostPolicy, TargetRefused, Url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/x", "only http"),
        ("file:///etc/passwd", "only http"),
        ("http:///path", "no host"),
        ("https://user:secret@hooks.example.com/x", "credentials"),
        ("http://hooks.example.com:99999/x", "not a URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        Url.parse(url)


def test_a_url_knows_its_port() -> None:
    assert Url.parse("https://Hooks.Example.com/x").port == 443
    assert Url.parse("http://hooks.example.com/x").port == 80
    assert Url.parse("http://[::1]:8080/x").host == "::1"


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"],
)
def test_any_public_host_does_not_reach_private_addresses(address: str) -> None:
    policy = HostPolicy(["*"])
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(TargetRefused, match="not a public address"):
        policy.check_host(Url.parse(f"http://{host}/hook"))
    with pytest.raises(TargetRefused, match="not a public address"):
        policy.check_address(Url.parse("http://hooks.example.com/"), ipaddress.ip_address(address))


def test_an_ipv4_mapped_address_is_judged_as_the_ipv4_it_maps() -> None:
    with pytest.raises(TargetRefused):
        HostPolicy(["*"]).check_host(Url.parse("http://[::ffff:127.0.0.1]/"))


def test_listed_addresses_networks_and_names_are_allowed_even_when_private() -> None:
    policy = HostPolicy(["10.0.0.0/8", "127.0.0.1", "hooks.internal", "*.corp.example"])
    policy.check_host(Url.parse("http://10.9.8.7/"))
    policy.check_host(Url.parse("http://127.0.0.1:8000/"))
    # A named host may resolve to a private address: naming it is the operator's say-so.
    policy.check_address(Url.parse("http://hooks.internal/"), ipaddress.ip_address("192.168.1.1"))
    policy.check_address(Url.parse("http://a.corp.example/"), ipaddress.ip_address("10.0.0.1"))
    with pytest.raises(TargetRefused, match="not allowed"):
        policy.check_host(Url.parse("http://hooks.example.com/"))
    with pytest.raises(TargetRefused, match="not a public address"):
        policy.check_address(
            Url.parse("http://other.internal/"), ipaddress.ip_address("192.168.1.1")
        )


def test_without_star_only_listed_hosts_are_called() -> None:
    policy = HostPolicy(["hooks.example.com"])
    policy.check_host(Url.parse("https://hooks.example.com/x"))
    with pytest.raises(TargetRefused, match="not allowed by WEBHOOK_ALLOWED_HOSTS"):
        policy.check_host(Url.parse("https://evil.example.com/x"))
    with pytest.raises(TargetRefused, match="not allowed by WEBHOOK_ALLOWED_HOSTS"):
        policy.check_host(Url.parse("https://8.8.8.8/x"))


async def test_every_address_a_host_resolves_to_is_checked() -> None:
    # localhost resolves to loopback only: refused under `*`, the address is pinned otherwise.
    with pytest.raises(TargetRefused, match="resolves to"):
        await HostPolicy(["*"]).resolve(Url.parse("http://localhost:9/"))
    address = await HostPolicy(["localhost"]).resolve(Url.parse("http://localhost:9/"))
    assert address.is_loopback
