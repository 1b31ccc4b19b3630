"""The base of every throttle: counted per client address as core.client_ip finds it (never the
raw X-Forwarded-For, which DRF's default get_ident uses when NUM_PROXIES is unset), in Django's
cache -- shared between processes when CACHE_URL points at Redis."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from core.client_ip import client_ip


class ClientAddressThrottle(SimpleRateThrottle):
    def get_ident(self, request):
        return client_ip(request) or "unknown"
