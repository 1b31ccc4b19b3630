"""One answer to "which address is this client?", for the audit trail, the log-in lock-out (axes,
AXES_CLIENT_IP_CALLABLE) and every throttle (core.api.throttling.ClientAddressThrottle).

X-Forwarded-For is written by the client first and by each proxy after it, each proxy appending
the address it received the request from. Only the part appended by proxies we run can be
believed, so the client is found by counting from the right:

- no trusted proxy (the default): the socket address (REMOTE_ADDR); the header is ignored, so a
  forged one changes nothing;
- TRUSTED_PROXY_COUNT = n: the chain is X-Forwarded-For followed by REMOTE_ADDR, and the client is
  the address n places from its right end (n = 1: the one the only proxy appended);
- TRUSTED_PROXIES = networks: the right-most address of that chain that is not in one of them
  (robust when a client can also reach the portal without the proxy).

Header parsing and the pick by hop count are django-ipware's (python-ipware's modern engine).
"""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

from django.conf import settings
from ipware.ip import get_client_ip as ipware_client_ip
from python_ipware.modern.parsers import split_proxy_chain, unwrap_ipv4


def client_ip(request) -> str | None:
    meta = request.META
    remote = meta.get("REMOTE_ADDR") or ""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    networks = trusted_networks()
    if not count and not networks:
        return _normalised(remote)
    chain_text = ", ".join(part for part in (meta.get("HTTP_X_FORWARDED_FOR", ""), remote) if part.strip())
    if networks:
        chain = split_proxy_chain(chain_text) or []
        count = 0
        while count < len(chain) - 1 and any(
            unwrap_ipv4(chain[-1 - count]) in net for net in networks if chain[-1 - count].version == net.version
        ):
            count += 1
    # One header holding the whole chain, so ipware's hop count includes the proxy that reached us.
    found, _routable = ipware_client_ip(
        SimpleNamespace(META={"HTTP_X_FORWARDED_FOR": chain_text}),
        proxy_count=count,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
    )
    # A chain shorter than the proxies we expect came past them (or is junk): the socket address.
    return _normalised(found) or _normalised(remote)


def trusted_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(value, strict=False) for value in getattr(settings, "TRUSTED_PROXIES", [])]


def _normalised(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(unwrap_ipv4(ipaddress.ip_address(value.strip())))
    except ValueError:
        return None
