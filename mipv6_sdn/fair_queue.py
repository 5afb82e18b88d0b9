"""Packet-ins waiting in the controller, by the port they came in on, served in turn.

The meters of :mod:`mipv6_sdn.flood_protection` bound what each port sends to the
controller; this queue makes the controller fair between ports as well: each port
(switch and ingress port) has its own bounded queue, and the controller takes one
packet from each port with something waiting in turn (round robin), so a port that
floods waits behind itself, never in front of the others. What does not fit a port's
queue is dropped and counted for that port (docs/security.md, "Floods").
"""
import collections


class FairQueue:
    """Bounded queues by key, served round robin."""

    def __init__(self, per_key, bounds=None):
        """``per_key`` items may wait per key; ``bounds`` gives some keys another."""
        self.per_key = per_key
        self.bounds = bounds or {}
        self.queues = collections.OrderedDict()  # key -> deque, in serving order
        self.dropped = collections.Counter()     # key -> items that did not fit

    def __len__(self):
        return sum(len(queue) for queue in self.queues.values())

    def __bool__(self):
        return bool(self.queues)

    def push(self, key, item):
        """Queue ``item`` for ``key``; False (and counted) when its queue is full."""
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = collections.deque()
        if len(queue) >= self.bounds.get(key, self.per_key):
            self.dropped[key] += 1
            return False
        queue.append(item)
        return True

    def discard(self, doomed):
        """Drop what waits for every key for which ``doomed(key)`` holds (its port went:
        what came from it is judged by where it is now, not served late)."""
        for key in [key for key in self.queues if doomed(key)]:
            del self.queues[key]

    def pop(self):
        """(key, item) of the next key in turn; IndexError when nothing waits."""
        if not self.queues:
            raise IndexError("nothing waits")
        key, queue = next(iter(self.queues.items()))
        item = queue.popleft()
        if queue:
            self.queues.move_to_end(key)
        else:
            del self.queues[key]
        return key, item
