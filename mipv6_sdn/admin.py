"""Administrative actions on the bindings, and who may ask for them (docs/web.md).

The REST admin endpoints call :func:`authorize` on the request's headers first: a POST
with the configured token, a Host header naming this server, and no Origin but this
server's. A web page in the user's browser can neither read the token nor send a Host
of ours from another name (DNS rebinding), and a cross-site form cannot set the header.
"""
import hmac
import ipaddress
import urllib.parse

from mipv6_sdn.binding_store import JournalError
from mipv6_sdn.refresh_requests import refresh_request

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class AdminError(Exception):
    """A refused or failed action: the HTTP status and one line saying why."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def authorize(headers, web, port):
    """Raise :class:`AdminError` unless ``headers`` (a mapping, any case) may drive admin
    actions of the server on ``port`` configured by ``web`` (a WebConfig)."""
    headers = {name.lower(): value for name, value in headers.items()}
    if not web.admin_token:
        raise AdminError(403, "admin actions are off: set [web] admin_token in the "
                              "configuration (docs/web.md)")
    allowed = allowed_hosts(web, port)
    host = headers.get("host", "").lower()
    if host not in allowed:
        raise AdminError(403, f"Host {host!r} is not this server's: add it to [web] "
                              "allowed_hosts")
    origin = headers.get("origin")
    if origin is not None and _origin_host(origin) not in allowed:
        raise AdminError(403, f"Origin {origin!r} is not this server: a page elsewhere "
                              "may not drive admin actions")
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(),
                                                             web.admin_token.encode()):
        raise AdminError(401, "admin actions need 'Authorization: Bearer <[web] admin_token>'")


def allowed_hosts(web, port):
    """The Host header values this server answers for: the loopback names with its
    port, and each of ``allowed_hosts`` as written and, without a port, with it (a
    reverse proxy that keeps the Host sends its own name, often without a port)."""
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    for host in web.allowed_hosts:
        names.add(host)
        if ":" not in host.rsplit("]", 1)[-1]:
            names.add(f"{host}:{port}")
    return names


def _origin_host(origin):
    """The host[:port] of an Origin header as a Host header would name it, or None
    (``null``, another scheme)."""
    parts = urllib.parse.urlsplit(origin.lower())
    return parts.netloc if parts.scheme in ("http", "https") and parts.hostname else None


def _binding(router, home_address):
    try:
        home = ipaddress.IPv6Address(home_address)
    except ValueError:
        raise AdminError(400, f"{home_address!r} is not an IPv6 address") from None
    binding = router.home_agent.cache.get(home)
    if binding is None:
        raise AdminError(404, f"no binding for {home}")
    return binding


def remove_binding(router, now, home_address):
    """Delete the Home Agent's binding for ``home_address``, as if it had expired; its
    rules go with it. Returns the messages to send."""
    binding = _binding(router, home_address)
    try:
        msgs = router.home_agent.cache.delete(now, binding.home_address)
    except JournalError:
        raise AdminError(503, "the binding journal cannot keep the change; nothing "
                              "was removed") from None
    router.events.emit(now, "admin", "remove_binding", action="remove_binding",
                       home_address=str(binding.home_address))
    return msgs


def request_refresh(router, now, home_address):
    """Send the mobile node of ``home_address`` a Binding Refresh Request from its
    Home Agent (RFC 6275 §6.1.2). Returns the messages to send."""
    binding = _binding(router, home_address)
    link = router.home_agent.home_link_of(binding.home_address)
    if link is None:
        raise AdminError(409, f"{binding.home_address} is on no configured home link")
    msgs = router.deliver(now, refresh_request(link.home_agent, binding))
    if not msgs:
        raise AdminError(409, f"no way to {binding.care_of_address} now (its switch is "
                              "not connected?); nothing was sent")
    router.events.emit(now, "admin", "refresh_request", action="refresh_request",
                       home_address=str(binding.home_address))
    return msgs
