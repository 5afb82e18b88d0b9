"""The probe stream's measure of an interruption (mininet_topos/probe.py) shows failure:
a stream that stops and never resumes is one long gap and a stop, not a small gap."""
import subprocess
import sys
import time

from mininet_topos import harness, probe


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


def test_the_first_arrival_after_a_moment():
    arrivals = stream(100.0, 10) + stream(100.5, 10, first=10)
    assert probe.first_after(arrivals, 100.2) == 100.5
    assert probe.first_after(arrivals, 101.0) is None


def test_the_log_reads_only_complete_lines_and_only_once(tmp_path):
    path = tmp_path / "arrivals.txt"
    log = probe.ArrivalLog(path)
    assert log.read() == []  # the receiver has not written yet
    path.write_text("0 100.000100000\n1 100.0002")
    assert log.read() == [(0, 100.0001)]
    with open(path, "a") as out:
        out.write("00000\n2 100.000300000\n")
    assert log.read() == [(0, 100.0001), (1, 100.0002), (2, 100.0003)]


def test_the_final_window_of_a_stream_that_stopped_says_so(tmp_path):
    path = tmp_path / "arrivals.txt"
    path.write_text("".join(f"{seq} {at:.9f}\n" for seq, at in stream(100.0, 500)))
    ended = probe.final_window(probe.ArrivalLog(path), 100.1, 100.499, timeout=5)
    assert not ended["stopped"] and ended["largest_gap_s"] < 0.0011
    stopped = probe.final_window(probe.ArrivalLog(path), 100.1, 102.0, timeout=0.1)
    assert stopped["stopped"] and stopped["largest_gap_s"] > 1.4


def test_a_10_khz_stream_on_loopback_arrives_paced_with_kernel_times(tmp_path):
    path, port = tmp_path / "arrivals.txt", harness.free_port()
    receiver = subprocess.Popen([sys.executable, probe.__file__, "receive", str(port),
                                 str(path)])
    try:
        harness.wait_for(lambda: f":{port} " in subprocess.run(
            ["ss", "-Hlun"], capture_output=True, text=True).stdout, 5, "the receiver")
        started = time.time()
        probe.send("::1", port, 10000, 0.2)
        sent = time.time()
        log = probe.ArrivalLog(path)
        harness.wait_for(lambda: len(log.read()) >= 1900, 5, "the probes")
    finally:
        receiver.kill()
        receiver.wait()
    received = log.read()
    assert [seq for seq, _ in received] == sorted(seq for seq, _ in received)
    assert started <= received[0][1] and received[-1][1] <= sent + 0.01
    assert sent - started >= 0.19  # paced over the 0.2 s, not sent in one burst
