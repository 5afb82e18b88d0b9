"""The shell's event stream (apps/web.py, docs/web.md): numbered events, a client that
reconnects catches up, and one from before a controller restart is not left waiting."""
from apps.web import EventStream, _json_line, _server_sent_event


def stream_of(count, size=8):
    stream = EventStream(size=size)
    stream.publish([{"kind": "port", "at": float(i)} for i in range(count)])
    return stream


def test_a_follower_gets_what_came_after_its_cursor_and_old_events_fall_off():
    stream = stream_of(12)  # ids 1..12, the last 8 kept
    assert [number for number, _, _ in stream.since(0)] == list(range(5, 13))
    assert [number for number, _, _ in stream.since(9)] == [10, 11, 12]
    assert stream.since(12) == [] and stream.follow(12, timeout=0.01) == []


def test_where_a_follower_starts():
    stream = stream_of(12)
    assert stream.cursor(None) == 0 and stream.cursor("7") == 7
    assert stream.cursor("now") == 12
    assert stream.cursor("5000") == 0  # from before a restart: everything kept
    assert stream.cursor("-3") == 0 and stream.cursor("junk") == 0


def test_each_event_is_encoded_once_as_a_json_line_and_a_server_sent_event():
    [entry] = stream_of(1).since(0)
    assert _json_line(entry) == b'{"kind": "port", "at": 0.0, "id": 1}\n'
    assert _server_sent_event(entry) == (
        b'id: 1\nevent: port\ndata: {"kind": "port", "at": 0.0, "id": 1}\n\n')
    assert _json_line(None) == b"\n" and _server_sent_event(None).startswith(b":")
