"""The controller's HTTP face on Ryu's REST server (docs/web.md): the JSON view, the
event stream (JSON lines for scripts, server-sent events for the page), REST for
topology and the rules of a home address, admin actions, and Prometheus metrics."""
import base64
import collections
import hashlib
import ipaddress
import itertools
import json
import logging
import pathlib
import re
import time

import eventlet
from ryu import cfg
from ryu.app.wsgi import ControllerBase, Response, route
from webob import exc

from mipv6_sdn import admin
from mipv6_sdn.controller_view import rules_of

REST_PREFIX = "/mipv6"
EVENTS_KEPT = 4096  # the event stream's memory: a client that reconnects catches up
KEEPALIVE_SECONDS = 15  # a comment line, so a client that left is noticed
STREAM_SECONDS = 600  # a follower is closed after this; it reconnects with the last id
MAX_FOLLOWERS = 32  # open event streams; more get 503 (each costs the controller's loop)
PROMETHEUS_TEXT = "text/plain; version=0.0.4"
PAGE = pathlib.Path(__file__).parent / "static" / "mipv6.html"
LOG = logging.getLogger("mipv6_sdn")


def _page_policy(page):
    """The page's Content-Security-Policy: its own inline script (by hash) and nothing
    from elsewhere."""
    script = re.search(rb"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src data:; frame-ancestors 'none'")


class EventStream:
    """The controller's events, numbered, the last EVENTS_KEPT kept; followers wait
    for the next ones without polling."""

    def __init__(self, size=EVENTS_KEPT):
        self.events = collections.deque(maxlen=size)  # (id, event, its JSON)
        self.last_id = 0
        self.followers = 0
        self._published = eventlet.event.Event()

    def publish(self, events):
        for event in events:
            self.last_id += 1
            event["id"] = self.last_id
            self.events.append((self.last_id, event, json.dumps(event)))
        if events:
            published, self._published = self._published, eventlet.event.Event()
            published.send()

    def since(self, cursor):
        """(id, event, JSON) of the events after id ``cursor`` still kept (ids are
        consecutive, so a slice)."""
        if not self.events:
            return []
        first = self.events[0][0]
        return list(itertools.islice(self.events, max(0, cursor - first + 1), None))

    def follow(self, cursor, timeout=KEEPALIVE_SECONDS):
        """Events after ``cursor``, waiting up to ``timeout`` for the first."""
        if self.last_id <= cursor:
            with eventlet.Timeout(timeout, False):
                self._published.wait()
        return self.since(cursor)

    def cursor(self, value):
        """Where a follower starts, from ?since= or Last-Event-ID: after that id, "now"
        (new events only), or (default, or an id from before a restart of the
        controller, which numbers from 1 again) with every event kept."""
        if value == "now":
            return self.last_id
        try:
            cursor = max(0, int(value or 0))
        except ValueError:
            return 0
        return cursor if cursor <= self.last_id else 0


class RestView(ControllerBase):
    """GET /mipv6/ (the live page), /mipv6/view and its parts, /mipv6/topology,
    /mipv6/rules/{home},
    /mipv6/events (JSON lines), /mipv6/stream (server-sent events), /metrics;
    POST /mipv6/admin/bindings/{home}/remove and /refresh."""

    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.app = data["app"]

    def __before__(self):
        """Every request: a Host of this server (DNS rebinding), and nothing a page of
        another site made the browser fetch (docs/web.md)."""
        req = self.req
        host = req.headers.get("Host", "").lower()
        if host not in admin.allowed_hosts(self.app.web, cfg.CONF.wsapi_port):
            raise exc.HTTPForbidden(json_body={
                "error": f"Host {host!r} is not this server's: add it to [web] allowed_hosts"})
        if req.headers.get("Sec-Fetch-Site") == "cross-site":
            raise exc.HTTPForbidden(json_body={"error": "not for pages of other sites"})

    # Ryu registers routes in the order of the methods' names: every specific route
    # below sorts before view_part, the catch-all for /mipv6/{part}.

    @route("mipv6", REST_PREFIX + "/admin/bindings/{home}/{verb}", methods=["POST"])
    def admin_binding(self, req, home, verb, **kwargs):
        # (not "action": Ryu's router dispatches on that name)
        actions = {"remove": admin.remove_binding, "refresh": admin.request_refresh}
        try:
            admin.authorize(req.headers, self.app.web, cfg.CONF.wsapi_port)
            if verb not in actions:
                raise admin.AdminError(404, f"no admin action {verb!r} (remove, refresh)")
            self.app.send(actions[verb](self.app.router, time.time(), home))
        except admin.AdminError as error:
            return _json({"error": str(error)}, status=error.status)
        LOG.warning("admin: %s %s, asked by %s", verb, home, req.remote_addr)
        return _json({"done": verb, "home_address": home})

    @route("mipv6", REST_PREFIX + "/events", methods=["GET"])
    def events(self, req, **kwargs):
        """JSON lines, one event each, followed until the client leaves."""
        return self._follower(req, "application/x-ndjson", _json_line)

    @route("mipv6", "/metrics", methods=["GET"])
    def metrics(self, req, **kwargs):
        return Response(content_type=PROMETHEUS_TEXT, charset="utf-8",
                        body=self.app.metrics.exposition())

    @route("mipv6", REST_PREFIX + "/", methods=["GET"])
    def page(self, req, **kwargs):
        """The live view (docs/web.md)."""
        page = PAGE.read_bytes()
        response = Response(content_type="text/html", charset="utf-8", body=page)
        response.headers["Content-Security-Policy"] = _page_policy(page)
        response.headers["X-Frame-Options"] = "DENY"  # no framing by another page
        return response

    @route("mipv6", REST_PREFIX, methods=["GET"])
    def page_without_slash(self, req, **kwargs):
        return Response(status=301, location=REST_PREFIX + "/")

    @route("mipv6", REST_PREFIX + "/rules/{home}", methods=["GET"])
    def rules(self, req, home, **kwargs):
        try:
            address = ipaddress.IPv6Address(home)
        except ValueError:
            return _json({"error": f"{home!r} is not an IPv6 address"}, status=400)
        return _json(rules_of(self.app.router, address))

    @route("mipv6", REST_PREFIX + "/stream", methods=["GET"])
    def stream(self, req, **kwargs):
        """Server-sent events (the page's EventSource)."""
        return self._follower(req, "text/event-stream", _server_sent_event)

    @route("mipv6", REST_PREFIX + "/topology", methods=["GET"])
    def topology(self, req, **kwargs):
        view = self._view()
        return _json({part: view[part] for part in ("switches", "links", "access_links",
                                                    "hosts")})

    @route("mipv6", REST_PREFIX + "/view", methods=["GET"])
    def view(self, req, **kwargs):
        return _json(self._view())

    @route("mipv6", REST_PREFIX + "/{part}", methods=["GET"])
    def view_part(self, req, part, **kwargs):
        view = self._view()
        if part not in view:
            return _json({"error": f"no part {part!r}"}, status=404)
        return _json(view[part])

    def _view(self):
        """The core's view, with what the controller's own queue dropped per port."""
        view = self.app.router.view()
        view["flood_protection"]["queue_dropped"] = {
            f"{dpid}:{port}": count
            for (dpid, port), count in sorted(self.app.packet_ins.dropped.items())}
        return view

    def _follower(self, req, content_type, encode):
        stream = self.app.event_stream
        if stream.followers >= MAX_FOLLOWERS:
            return _json({"error": f"{MAX_FOLLOWERS} event streams are open already; "
                                   "close one"}, status=503)
        cursor = stream.cursor(req.headers.get("Last-Event-ID") or req.GET.get("since"))
        req.environ["eventlet.minimum_write_chunk_size"] = 0  # each event at once
        response = Response(content_type=content_type, charset="utf-8",
                            app_iter=self._follow(cursor, encode))
        response.headers["Cache-Control"] = "no-cache"
        return response

    def _follow(self, cursor, encode):
        """The events after ``cursor`` as they come, for STREAM_SECONDS."""
        stream = self.app.event_stream
        stream.followers += 1
        try:
            yield encode(None)  # the headers go out at once
            ends = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < ends:
                events = stream.follow(cursor)
                for entry in events:
                    yield encode(entry)
                cursor = events[-1][0] if events else cursor
                if not events:
                    yield encode(None)  # keep-alive
        finally:
            stream.followers -= 1


def _json_line(entry):
    return b"\n" if entry is None else (entry[2] + "\n").encode()


def _server_sent_event(entry):
    if entry is None:
        return b": keep-alive\n\n"
    number, event, data = entry
    return f"id: {number}\nevent: {event['kind']}\ndata: {data}\n\n".encode()


def _json(data, status=200):
    return Response(status=status, content_type="application/json", charset="utf-8",
                    body=json.dumps(data, indent=1))
