"""Who is on the other end of a request: the client's address, as far as we can trust it.

The connection's address (REMOTE_ADDR) is the client's unless settings.TRUSTED_PROXY_COUNT
reverse proxies stand in front of the app; each appends the address it was connected from to
X-Forwarded-For, so with N proxies the client is the Nth address from the right. Anything further
left was written by the client and is ignored. Every limit that counts per address (the login
limits, DRF throttles, django-axes) reads the address here."""
from __future__ import annotations

import ipaddress

from django.conf import settings

# One machine on IPv6 usually holds a whole /64: limits count it as one address.
IPV6_BLOCK_PREFIX = 64


def _address(value: str | None) -> str | None:
    """`value` as a canonical IP address, or None if it is not one."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def client_ip(request) -> str | None:
    """The client's IP address: the Nth hop from the right of X-Forwarded-For when
    TRUSTED_PROXY_COUNT = N > 0 and the header has that many hops, otherwise REMOTE_ADDR."""
    meta = request.META
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = meta.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(hops) >= count:
            forwarded = _address(hops[-count])
            if forwarded is not None:
                return forwarded
    return _address(meta.get("REMOTE_ADDR"))


def client_ip_block(request) -> str | None:
    """client_ip, with an IPv6 address widened to its /64 network: what per-address limits
    count, so that one machine cannot rotate through the addresses of its own network."""
    address = client_ip(request)
    if address is None or ":" not in address:
        return address
    network = ipaddress.ip_network(f"{address}/{IPV6_BLOCK_PREFIX}", strict=False)
    return str(network.network_address)
