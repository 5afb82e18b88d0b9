"""A UDP probe stream that measures interruptions, timed by the kernel.

    python3 probe.py receive PORT OUTFILE      # writes "sequence arrival_time" lines
    python3 probe.py send ADDRESS PORT RATE SECONDS

Standard library only, so it runs in any Mininet host. The sender paces itself against
the clock (no drift; a late probe goes at once, so the stream keeps its rate) with a
timer slack of 1 ns, so it holds 10 kHz; the receiver writes the kernel's receive time
of each datagram (SO_TIMESTAMPNS, nanoseconds, the wall clock every namespace shares),
not the time its process got round to reading it, and flushes at least every 50 ms.
:func:`window` measures a window of the stream, :func:`first_after` the first arrival
after a moment.
"""
import bisect
import ctypes
import socket
import struct
import sys
import time

PROBE = struct.Struct("!Id")  # sequence number, send time
STOPPED_AFTER = 0.5  # s without probes at the end of a window: the stream stopped
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # <asm-generic/socket.h>
TIMESPEC = struct.Struct("@qq")  # struct timespec on a 64-bit Linux
PR_SET_TIMERSLACK = 29  # <linux/prctl.h>
FLUSH_EVERY = 0.05  # s


def send(address, port, rate, seconds):
    interval = 1.0 / rate
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        start = time.monotonic()
        for sequence in range(int(rate * seconds)):
            delay = start + sequence * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                sock.sendto(PROBE.pack(sequence, time.time()), (address, port))
            except OSError:
                pass  # no route for a moment during a handover: the probe is lost


def receive(port, path):
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock, \
            open(path, "w") as out:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind(("::", port))
        sock.settimeout(FLUSH_EVERY)
        flushed = time.monotonic()
        while True:
            try:
                data, ancillary, _, _ = sock.recvmsg(64, socket.CMSG_SPACE(TIMESPEC.size))
            except socket.timeout:
                data, ancillary = b"", []
            if len(data) >= PROBE.size:
                sequence, _ = PROBE.unpack_from(data)
                out.write(f"{sequence} {_received_at(ancillary):.9f}\n")
            if time.monotonic() - flushed >= FLUSH_EVERY:
                out.flush()
                flushed = time.monotonic()


def _received_at(ancillary):
    """The kernel's receive time (s) from SCM_TIMESTAMPNS, else now."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS \
                and len(data) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(data)
            return seconds + nanoseconds / 1e9
    return time.time()


class ArrivalLog:
    """A receiver's file read as it grows: each :meth:`read` parses only the lines
    added since the last, so a long 10 kHz run is not parsed again per handover."""

    def __init__(self, path):
        self.path, self.offset, self.received = path, 0, []

    def read(self):
        """[(sequence, arrival time)] so far, in order of arrival."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return self.received
        complete = chunk.rfind(b"\n") + 1
        self.offset += complete
        for line in chunk[:complete].splitlines():
            fields = line.split()
            if len(fields) == 2:
                self.received.append((int(fields[0]), float(fields[1])))
        return self.received


def arrivals(path):
    """[(sequence, arrival time)] from a receiver's file."""
    return ArrivalLog(path).read()


def _at(arrival):
    return arrival[1]


def window(received, start, end, rate=1000):
    """The probe stream ``received`` ([(sequence, arrival)], in order of arrival) from
    ``start`` to ``end`` (wall clock, s). The edges count: the gap from the last arrival
    before ``start`` (or from ``start``) to the first inside, and from the last inside to
    ``end``, so a stream that stops and never comes back shows as one long gap, not as
    small ones; ``stopped`` when nothing came in the last STOPPED_AFTER s, and the probes
    the sender sent (at ``rate``) after the last arrival count as lost. A dict: largest
    gap (s), stopped, lost, every gap above 2 ms with when it began, how many arrived."""
    low = bisect.bisect_left(received, start, key=_at)
    high = bisect.bisect_right(received, end, key=_at)
    inside = received[low:high]
    if not inside:
        return {"largest_gap_s": float("inf"), "stopped": True, "lost": None,
                "gaps_over_2ms": [], "received": 0}
    anchor = received[low - 1] if low else None
    times = [anchor[1] if anchor else start] + [t for _, t in inside] + [end]
    intervals = [(b - a, a) for a, b in zip(times, times[1:])]
    stopped = end - inside[-1][1] > STOPPED_AFTER
    first = anchor[0] + 1 if anchor else inside[0][0]
    last = max(seq for seq, _ in inside)
    lost = max(0, last - first + 1 - len({seq for seq, _ in inside if first <= seq <= last}))
    if stopped:
        lost += int((end - inside[-1][1]) * rate)
    return {"largest_gap_s": max(g for g, _ in intervals), "stopped": stopped,
            "lost": lost, "gaps_over_2ms": [[round(at, 6), round(g * 1000, 3)]
                                            for g, at in intervals if g > 0.002],
            "received": len(inside)}


def final_window(log, start, end, rate=1000, timeout=1.0):
    """:func:`window` of ``log`` (an :class:`ArrivalLog`) once the receiver has written
    what arrived up to ``end``: it flushes every FLUSH_EVERY, so the log is read until
    it reaches two probe intervals (at ``rate``) from ``end``, or ``timeout`` passes (a
    stream that stopped, or ended before ``end``)."""
    deadline = time.monotonic() + timeout
    while True:
        received = log.read()
        if received and received[-1][1] >= end - 2 / rate \
                or time.monotonic() >= deadline:
            return window(received, start, end, rate)
        time.sleep(FLUSH_EVERY / 5)


def first_after(received, moment):
    """The arrival time of the first probe after ``moment``, or None."""
    index = bisect.bisect_right(received, moment, key=_at)
    return received[index][1] if index < len(received) else None


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]), sys.argv[3])
    else:
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
