"""The controller's HTTP face on Ryu's REST server (docs/web.md): the JSON view, the
event stream (JSON lines for scripts, server-sent events for the page), REST for
topology and the rules of a home address, admin actions, and Prometheus metrics."""
import collections
import ipaddress
import json
import time

import eventlet
from ryu import cfg
from ryu.app.wsgi import ControllerBase, Response, route

from mipv6_sdn import admin
from mipv6_sdn.controller_view import rules_of

REST_PREFIX = "/mipv6"
EVENTS_KEPT = 4096  # the event stream's memory: a client that reconnects catches up
KEEPALIVE_SECONDS = 15  # a comment line, so a client that left is noticed
PROMETHEUS_TEXT = "text/plain; version=0.0.4"


class EventStream:
    """The controller's events, numbered, the last EVENTS_KEPT kept; followers wait
    for the next ones without polling."""

    def __init__(self, size=EVENTS_KEPT):
        self.events = collections.deque(maxlen=size)
        self.last_id = 0
        self._published = eventlet.event.Event()

    def publish(self, events):
        for event in events:
            self.last_id += 1
            event["id"] = self.last_id
            self.events.append(event)
        if events:
            published, self._published = self._published, eventlet.event.Event()
            published.send()

    def since(self, cursor):
        """The events after id ``cursor`` still kept."""
        return [event for event in self.events if event["id"] > cursor]

    def follow(self, cursor, timeout=KEEPALIVE_SECONDS):
        """Events after ``cursor``, waiting up to ``timeout`` for the first."""
        if self.last_id <= cursor:
            with eventlet.Timeout(timeout, False):
                self._published.wait()
        return self.since(cursor)


def _cursor(req, stream):
    """Where a follower starts: ?since=N, the Last-Event-ID an EventSource resends on
    reconnecting, ?since=now (only new events), or (default) with the events still kept."""
    value = req.headers.get("Last-Event-ID") or req.GET.get("since") or "0"
    if value == "now":
        return stream.last_id
    try:
        return max(0, int(value))
    except ValueError:
        return 0


class RestView(ControllerBase):
    """GET /mipv6/view and its parts, /mipv6/topology, /mipv6/rules/{home},
    /mipv6/events (JSON lines), /mipv6/stream (server-sent events), /metrics;
    POST /mipv6/admin/bindings/{home}/remove and /refresh."""

    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.app = data["app"]

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
        return _json({"done": verb, "home_address": home})

    @route("mipv6", REST_PREFIX + "/events", methods=["GET"])
    def events(self, req, **kwargs):
        """JSON lines, one event each, followed until the client leaves."""
        req.environ["eventlet.minimum_write_chunk_size"] = 0  # each event at once
        return Response(content_type="application/x-ndjson", charset="utf-8",
                        app_iter=self._follow(_cursor(req, self.app.events), _json_line))

    @route("mipv6", "/metrics", methods=["GET"])
    def metrics(self, req, **kwargs):
        return Response(content_type=PROMETHEUS_TEXT, charset="utf-8",
                        body=self.app.metrics.exposition())

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
        req.environ["eventlet.minimum_write_chunk_size"] = 0
        response = Response(content_type="text/event-stream", charset="utf-8",
                            app_iter=self._follow(_cursor(req, self.app.events),
                                                          _server_sent_event))
        response.headers["Cache-Control"] = "no-cache"
        return response

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

    def _follow(self, cursor, encode):
        stream = self.app.events
        yield encode(None)  # the headers go out at once
        while True:
            events = stream.follow(cursor)
            for event in events:
                yield encode(event)
            cursor = events[-1]["id"] if events else cursor
            if not events:
                yield encode(None)  # keep-alive


def _json_line(event):
    return b"\n" if event is None else (json.dumps(event) + "\n").encode()


def _server_sent_event(event):
    if event is None:
        return b": keep-alive\n\n"
    return f"id: {event['id']}\nevent: {event['kind']}\ndata: {json.dumps(event)}\n\n".encode()


def _json(data, status=200):
    return Response(status=status, content_type="application/json", charset="utf-8",
                    body=json.dumps(data, indent=1))
