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


def gaps(path, start=None, end=None):
    """The largest interval between consecutive arrivals (s), and the count lost."""
    received = [(s, t) for s, t in arrivals(path)
                if (start is None or t >= start) and (end is None or t <= end)]
    if len(received) < 2:
        return float("inf"), None
    largest = max(b[1] - a[1] for a, b in zip(received, received[1:]))
    expected = received[-1][0] - received[0][0] + 1
    return largest, expected - len({s for s, _ in received})


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]), sys.argv[3])
    else:
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
