"""Which addresses a URL import may connect to, and resolving host names to check them.

The rule works on resolved addresses, never on the host string: `2130706433`, `0177.0.0.1`
or a name whose DNS answers 127.0.0.1 all resolve to loopback and are refused alike.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from assetlens.urlfetch.errors import RefusedTarget, UpstreamError, UpstreamTimeout

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# (host, port, timeout seconds) -> every address the host resolves to.
Resolver = Callable[[str, int, float], list[Address]]

# IPv6 forms that carry an IPv4 address a gateway would forward to (NAT64 well-known
# prefix) or that only ever name IPv4 hosts (IPv4-compatible, deprecated): judged by the
# IPv4 address inside, or refused.
_NAT64 = ip_network("64:ff9b::/96")
# Not globally reachable per the IANA registries, yet `is_global` on some Python versions:
# IETF protocol assignments, local-use NAT64, IPv4-compatible IPv6.
_NOT_GLOBAL: tuple[Network, ...] = (
    ip_network("192.0.0.0/24"),
    ip_network("64:ff9b:1::/48"),
    ip_network("::/96"),
)


def _embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: 6to4 and Teredo."""
    found: list[IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _translated_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 (64:ff9b::/96) address stands for."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Whether `address` is a globally routable unicast address: not loopback, private,
    link-local, shared (100.64/10), unique-local, multicast, reserved, unspecified or
    documentation, in any IPv6 spelling of those (IPv4-mapped, NAT64, 6to4, Teredo)."""
    if any(address.version == net.version and address in net for net in _NOT_GLOBAL):
        return False
    if isinstance(address, IPv6Address):
        translated = _translated_ipv4(address)
        if translated is not None:  # these forms are only as public as their IPv4 address
            return is_public(translated)
        if not all(is_public(inner) for inner in _embedded_ipv4(address)):
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


class AddressPolicy:
    """Public addresses only, plus the networks of `allow` (empty in production; tests
    open it for their own local servers)."""

    def __init__(self, allow: Sequence[Network] = ()) -> None:
        self._allow = tuple(allow)

    def permits(self, address: Address) -> bool:
        if (
            isinstance(address, IPv6Address)
            and address.ipv4_mapped is not None
            and self._allowed(address.ipv4_mapped)
        ):
            return True
        return self._allowed(address) or is_public(address)

    def _allowed(self, address: Address) -> bool:
        return any(address.version == net.version and address in net for net in self._allow)


# getaddrinfo cannot be interrupted; it runs here so a caller can stop waiting for it.
_DNS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="assetlens-dns")


def system_resolver(host: str, port: int, timeout: float) -> list[Address]:
    """The operating system's answer for `host` (numeric spellings included), within
    `timeout` seconds."""
    future = _DNS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=max(timeout, 0.001))
    except FutureTimeout as exc:
        raise UpstreamTimeout("resolving the URL's host took too long") from exc
    except (socket.gaierror, UnicodeError) as exc:
        raise UpstreamError("the URL's host does not resolve") from exc
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        try:
            addresses.append(ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError as exc:
            raise RefusedTarget("the URL's host resolves to an unusable address") from exc
    return addresses
