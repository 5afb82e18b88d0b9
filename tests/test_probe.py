"""The probe stream's measure of an interruption (mininet_topos/probe.py) shows failure:
a stream that stops and never resumes is one long gap and a stop, not a small gap."""
from mininet_topos import probe


def stream(start, count, rate=1000, first=0, skip=()):
    return [(first + i, start + i / rate) for i in range(count) if first + i not in skip]


def test_a_stream_that_stops_is_one_long_gap_and_a_stop():
    arrivals = stream(100.0, 500)  # stops at 100.5 s
    measured = probe.window(arrivals, start=100.2, end=102.0)
    assert measured["stopped"] and measured["largest_gap_s"] > 1.4
    assert measured["lost"] >= 1400
    # Control: the same window on a stream that goes on is healthy.
    healthy = probe.window(stream(100.0, 2000), start=100.2, end=102.0)
    assert not healthy["stopped"] and healthy["largest_gap_s"] < 0.0011
    assert healthy["lost"] == 0


def test_a_gap_across_the_start_of_the_window_counts_from_the_last_probe_before():
    arrivals = stream(100.0, 300) + stream(100.35, 100, first=350)  # 50 ms gap at 100.3
    measured = probe.window(arrivals, start=100.32, end=100.45)
    assert abs(measured["largest_gap_s"] - 0.051) < 0.002
    assert measured["lost"] == 50 and not measured["stopped"]


def test_no_probe_at_all_is_an_infinite_gap():
    measured = probe.window([], start=1.0, end=2.0)
    assert measured["largest_gap_s"] == float("inf") and measured["stopped"]
