"""The one outbound-address check for every HTTP request the node makes (peers, feeds, webhooks).

A target is allowed when every address its host resolves to is global, or when
the operator's allow-list (``Settings.outbound_allow``: CIDRs or host names)
names it.  Loopback, private, link-local (cloud metadata), shared, multicast,
reserved and unspecified addresses are refused by default in every deployment;
the local demo allows loopback explicitly.  ``GuardedTransport`` checks each
request as it is sent, redirects included, and connects to the very addresses it
checked (no second DNS answer, no rebinding); clients never follow redirects.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from colsec.errors import InvalidInput

if TYPE_CHECKING:
    from colsec.settings import Settings

__all__ = [
    "DENY_ALL",
    "GuardedTransport",
    "OutboundPolicy",
    "OutboundRefused",
    "from_settings",
    "guarded_client",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Names that reach cloud metadata services whatever they resolve to.
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


class OutboundRefused(InvalidInput):
    """The target address is not global and the allow-list does not name it."""

    code = "outbound_refused"


def _is_global(addr: Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast and not addr.is_reserved


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> OutboundPolicy:
        """Parse the allow-list: each entry a CIDR, a bare address or a host name."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def _allowed_address(self, addr: Address) -> bool:
        if _is_global(addr):
            return True
        mapped = addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) else None
        return any(addr in net or (mapped is not None and mapped in net) for net in self.networks)

    def check_host(self, host: str, port: int | None = None) -> None:
        """Refuse ``host`` unless allow-listed by name or every resolved address is allowed."""
        self.addresses(host, port)

    def addresses(self, host: str, port: int | None = None) -> list[Address]:
        """The checked addresses to connect to (empty when the name itself is allow-listed)."""
        name = host.strip("[]").lower().rstrip(".")
        if name in self.hosts:
            return []
        if name in _METADATA_HOSTS:
            raise OutboundRefused(f"refusing {host}: metadata hosts are not reachable")
        try:
            addrs: list[Address] = [ipaddress.ip_address(name)]
        except ValueError:
            try:
                infos = socket.getaddrinfo(name, port or 443, proto=socket.IPPROTO_TCP)
            except (OSError, UnicodeError):
                raise OutboundRefused(f"refusing {host}: the name does not resolve") from None
            addrs = list(dict.fromkeys(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos))
        if not addrs:
            raise OutboundRefused(f"refusing {host}: the name does not resolve")
        for addr in addrs:
            if not self._allowed_address(addr):
                raise OutboundRefused(
                    f"refusing {host}: {addr} is not a global address and is not in the outbound allow-list"
                )
        return addrs

    def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("URL must be http(s) with a host")
        try:
            port = parts.port
        except ValueError:
            raise InvalidInput("URL has an invalid port") from None
        self.check_host(parts.hostname, port)


DENY_ALL = OutboundPolicy()


def from_settings(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy.from_entries(settings.outbound_allow)


class GuardedTransport(httpx.BaseTransport):
    """Checks every request's host (the first and any redirect a caller follows) before sending."""

    def __init__(self, policy: OutboundPolicy, inner: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Connect only to the addresses just checked, so a second DNS answer cannot redirect it.

        The Host header and the TLS server name stay the original host's; addresses are
        tried in order as the socket library would.
        """
        original = request.url
        try:
            addrs = self.policy.addresses(original.host, original.port)
        except OutboundRefused as exc:
            raise httpx.ConnectError(exc.message, request=request) from exc
        if not addrs or str(addrs[0]) == original.host.strip("[]"):
            return self.inner.handle_request(request)
        request.extensions = {**request.extensions, "sni_hostname": original.host}
        failure: httpx.ConnectError | None = None
        try:
            for addr in addrs:
                request.url = original.copy_with(host=str(addr))
                try:
                    return self.inner.handle_request(request)
                except httpx.ConnectError as exc:
                    failure = exc
        finally:
            request.url = original  # callers see the URL they asked for
        assert failure is not None
        raise failure

    def close(self) -> None:
        self.inner.close()


def guarded_client(
    policy: OutboundPolicy, *, verify: ssl.SSLContext | bool = True, **kwargs: Any
) -> httpx.Client:
    """An httpx client that never follows redirects and checks every target against ``policy``.

    ``verify``: pass one ``ssl.SSLContext`` to reuse across clients (building one loads the CA
    bundle, ~30 ms: more than a whole webhook delivery to a nearby receiver).
    """
    kwargs["follow_redirects"] = False
    # No proxies from the environment: a proxy mount would bypass the guarded transport.
    kwargs["trust_env"] = False
    return httpx.Client(transport=GuardedTransport(policy, httpx.HTTPTransport(verify=verify)), **kwargs)
