"""A UDP probe stream that measures interruptions: one datagram per millisecond.

    python3 probe.py receive PORT OUTFILE      # writes "sequence arrival_time" lines
    python3 probe.py send ADDRESS PORT RATE SECONDS

Standard library only, so it runs in any Mininet host. The sender paces itself against
the clock (no drift), the receiver flushes every line, and :func:`gaps` reads a
receiver's file back.
"""
import socket
import struct
import sys
import time

PROBE = struct.Struct("!Id")  # sequence number, send time
STOPPED_AFTER = 0.5  # s without probes at the end of a window: the stream stopped


def send(address, port, rate, seconds):
    interval = 1.0 / rate
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        start = time.monotonic()
        for sequence in range(int(rate * seconds)):
            due = start + sequence * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                sock.sendto(PROBE.pack(sequence, time.time()), (address, port))
            except OSError:
                pass  # no route for a moment during a handover: the probe is lost


def receive(port, path):
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock, \
            open(path, "w", buffering=1) as out:
        sock.bind(("::", port))
        while True:
            data = sock.recv(64)
            if len(data) >= PROBE.size:
                sequence, _ = PROBE.unpack_from(data)
                out.write(f"{sequence} {time.time():.6f}\n")


def arrivals(path):
    """[(sequence, arrival time)] from a receiver's file."""
    with open(path) as lines:
        return [(int(seq), float(at)) for seq, at in (
            line.split() for line in lines if line.count(" ") == 1)]


def window(received, start=None, end=None, rate=1000):
    """The probe stream ``received`` ([(sequence, arrival)]) between ``start`` and
    ``end`` (wall clock, s; either may be None). The edges count: the gap from the last
    arrival before ``start`` (or from ``start``) to the first inside, and from the last
    inside to ``end``, so a stream that stops and never comes back shows as one long
    gap, not as 1 ms gaps; ``stopped`` when nothing came in the last STOPPED_AFTER s,
    and the probes the sender sent (at ``rate``) after the last arrival count as lost.
    A dict: largest gap (s), stopped, lost, every gap above 2 ms with when it began,
    and how many arrived."""
    before = [a for a in received if start is not None and a[1] < start]
    inside = [a for a in received if (start is None or a[1] >= start)
              and (end is None or a[1] <= end)]
    if not inside:
        return {"largest_gap_s": float("inf"), "stopped": True, "lost": None,
                "gaps_over_2ms": [], "received": 0}
    anchor = before[-1] if before else None
    head = [anchor[1]] if anchor else ([start] if start is not None else [])
    times = head + [t for _, t in inside] + ([end] if end is not None else [])
    intervals = [(b - a, a) for a, b in zip(times, times[1:])]
    stopped = end is not None and end - inside[-1][1] > STOPPED_AFTER
    first = anchor[0] + 1 if anchor else inside[0][0]
    last = max(seq for seq, _ in inside)
    lost = max(0, last - first + 1 - len({seq for seq, _ in inside if first <= seq <= last}))
    if stopped:
        lost += int((end - inside[-1][1]) * rate)
    return {"largest_gap_s": max((g for g, _ in intervals), default=0.0),
            "stopped": stopped, "lost": lost,
            "gaps_over_2ms": [[round(at, 6), round(g * 1000, 3)] for g, at in intervals
                              if g > 0.002], "received": len(inside)}


def gaps(path, start=None, end=None):
    """The largest interval without a probe (s), edges included (:func:`window`), and
    the count lost, from a receiver's file."""
    measured = window(arrivals(path), start, end)
    return measured["largest_gap_s"], measured["lost"]


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]), sys.argv[3])
    else:
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
