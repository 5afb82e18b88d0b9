"""The mobile node's effectful side: a packet socket, netlink, the clock.

:class:`Interface` owns one network interface: an AF_PACKET socket to send and receive
whole Ethernet frames (the kernel has no Mobile IPv6: it drops type 2 routing headers,
so Binding Acknowledgements are read here, before the IPv6 layer) with a classic BPF
filter that passes only what the mobile node reads, and pyroute2 (netlink) to change
addresses and routes and to watch the kernel's addresses (SLAAC forms the care-of
address) and carrier. :func:`run` is the event loop that feeds the pure
:class:`mipv6_sdn.mn.core.MobileNode` and carries out what it returns.
"""
import ctypes
import errno
import ipaddress
import logging
import select
import socket
import struct
import time

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTMGRP_IPV6_IFADDR, RTMGRP_LINK
from pyroute2.netlink.rtnl.ifaddrmsg import (IFA_F_DADFAILED, IFA_F_NODAD,
                                             IFA_F_NOPREFIXROUTE, IFA_F_OPTIMISTIC,
                                             IFA_F_TENTATIVE)

from mipv6_sdn import mobility, wire
from mipv6_sdn.mn.actions import (AssignHomeAddress, DefaultRoute, Log, RemoveAddress,
                                  RemoveOnLinkRoute, Send)

LOG = logging.getLogger("mipv6-mn")

ETH_P_IPV6 = wire.ETH_TYPE_IPV6
SOL_PACKET = 263  # linux/socket.h
PACKET_IGNORE_OUTGOING = 23  # linux/if_packet.h (Linux 4.20)
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26  # asm-generic/socket.h
IFF_LOWER_UP = 0x10000  # linux/if.h: carrier
RT_SCOPE_UNIVERSE = 0
DEFAULT_ROUTE_METRIC = 512  # below the RA's 1024 and the harness's fallback 2048
TICK = 0.1  # seconds between timer ticks, as the controller's
NETLINK_POLL = 1.0  # re-read addresses and carrier at least this often
MAX_FRAMES_PER_WAKE = 64

# Classic BPF (linux/filter.h): the frames the mobile node reads. IPv6 with a Mobility
# Header, a Destination Options or Routing header first (a BA has a type 2 routing
# header), or ICMPv6 Router Advertisement or DHAAD Reply. Offsets: Ethernet (14) + the
# IPv6 Next Header (6) = 20; the ICMPv6 type follows the 40-octet IPv6 header at 54.
_LDH_ABS, _LDB_ABS, _JEQ_K, _RET_K = 0x28, 0x30, 0x15, 0x06
_ACCEPT_LEN = 0x40000
_FILTER = [
    ("ld", _LDH_ABS, 12), ("jeq", ETH_P_IPV6, None, "drop"),
    ("ld", _LDB_ABS, 20), ("jeq", wire.IPPROTO_ICMPV6, "icmp", None),
    ("jeq", wire.IPPROTO_MH, "accept", None),
    ("jeq", wire.IPPROTO_DSTOPTS, "accept", None),
    ("jeq", wire.IPPROTO_ROUTING, "accept", "drop"),
    ("icmp",), ("ld", _LDB_ABS, 54),
    ("jeq", wire.ND_ROUTER_ADVERT, "accept", None),
    ("jeq", mobility.HAAD_REPLY, "accept", "drop"),
    ("accept",), ("ret", _ACCEPT_LEN),
    ("drop",), ("ret", 0),
]


def bpf_program(source=None):
    """Assemble :data:`_FILTER` (labels are one-element tuples; a jump target None is
    the next instruction) into (code, jt, jf, k) instructions."""
    source = _FILTER if source is None else source
    labels, count = {}, 0
    for item in source:
        if len(item) == 1:
            labels[item[0]] = count
        else:
            count += 1
    program = []
    for item in source:
        if len(item) == 1:
            continue
        here = len(program) + 1
        if item[0] == "ld":
            program.append((item[1], 0, 0, item[2]))
        elif item[0] == "ret":
            program.append((_RET_K, 0, 0, item[1]))
        else:
            _, k, jt, jf = item
            offsets = [0 if target is None else labels[target] - here for target in (jt, jf)]
            program.append((_JEQ_K, offsets[0], offsets[1], k))
    return program


def _attach_filter(sock, program):
    """SO_ATTACH_FILTER: struct sock_fprog {unsigned short len; struct sock_filter *}."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _attr(message, name):
    return message.get_attr(name) if hasattr(message, "get_attr") else message.get(name)


class Interface:
    """One interface of the mobile node: frames in and out, addresses and routes."""

    def __init__(self, name):
        self.name = name
        self.ipr = IPRoute()
        indexes = self.ipr.link_lookup(ifname=name)
        if not indexes:
            self.ipr.close()
            raise LookupError(f"no such interface: {name}")
        self.index = indexes[0]
        self.mac = _attr(self.ipr.get_links(self.index)[0], "IFLA_ADDRESS")
        self.monitor = IPRoute()
        self.monitor.bind(groups=RTMGRP_LINK | RTMGRP_IPV6_IFADDR)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass  # older kernels: outgoing frames are dropped by their packet type below
        _attach_filter(self.sock, bpf_program())
        self.sock.bind((name, ETH_P_IPV6))
        self.sock.setblocking(False)
        self.default_route = None

    def fileno_list(self):
        return [self.sock, self.monitor]

    # ------------------------------------------------------------------ reading

    def receive_frames(self):
        """Frames that arrived for this host (not those it sent), without blocking."""
        frames = []
        for _ in range(MAX_FRAMES_PER_WAKE):
            try:
                data, address = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno != errno.ENETDOWN:  # reported while the carrier is down
                    raise
                break
            if address[2] not in (PACKET_OUTGOING, PACKET_OTHERHOST):
                frames.append(data)
        return frames

    def drain_netlink(self):
        """Read and discard pending netlink notifications (state is re-read whole)."""
        while select.select([self.monitor], [], [], 0)[0]:
            self.monitor.get()

    def usable_addresses(self):
        """Global addresses the kernel lets us use: not tentative (unless optimistic,
        RFC 4429), not failed DAD."""
        found = []
        for message in self.ipr.get_addr(family=socket.AF_INET6, index=self.index):
            flags = _attr(message, "IFA_FLAGS") or message["flags"]
            if message["scope"] != RT_SCOPE_UNIVERSE or flags & IFA_F_DADFAILED or (
                    flags & IFA_F_TENTATIVE and not flags & IFA_F_OPTIMISTIC):
                continue
            found.append(ipaddress.IPv6Interface(
                (_attr(message, "IFA_ADDRESS"), message["prefixlen"])))
        return found

    def carrier(self):
        return bool(self.ipr.get_links(self.index)[0]["flags"] & IFF_LOWER_UP)

    # ------------------------------------------------------------------ actions

    def apply(self, actions):
        for action in actions:
            try:
                self._apply(action)
            except (OSError, NetlinkError) as exc:
                LOG.warning("%s failed: %s", type(action).__name__, exc)

    def _apply(self, action):
        if isinstance(action, Log):
            LOG.log(action.level, "%s", action.message)
        elif isinstance(action, Send):
            LOG.debug("send %s (%d octets)", action.what, len(action.frame))
            self.sock.send(action.frame)
        elif isinstance(action, AssignHomeAddress):
            self._assign_home_address(action.address)
        elif isinstance(action, RemoveAddress):
            self._remove_address(action.address)
        elif isinstance(action, RemoveOnLinkRoute):
            self._remove_routes(action.prefix)
        elif isinstance(action, DefaultRoute):
            self._default_route(action.gateway, action.source)
        else:
            raise TypeError(f"unknown action {action!r}")

    def _current(self, address):
        return [message for message in self.ipr.get_addr(family=socket.AF_INET6,
                                                         index=self.index)
                if ipaddress.IPv6Address(_attr(message, "IFA_ADDRESS")) == address]

    def _assign_home_address(self, interface):
        """/128: no DAD, no prefix route (the home prefix is not on-link while away);
        otherwise the prefix route too, still without DAD (the home agent defended the
        address while the node was away, RFC 6275 §11.5.5). The kernel cannot change
        a prefix length in place: another length is deleted first."""
        flags = IFA_F_NODAD
        if interface.network.prefixlen == 128:
            flags |= IFA_F_NOPREFIXROUTE
        command = "add"
        for message in self._current(interface.ip):
            if message["prefixlen"] == interface.network.prefixlen:
                command = "replace"
            else:
                self.ipr.addr("del", index=self.index, address=str(interface.ip),
                              prefixlen=message["prefixlen"])
        self.ipr.addr(command, index=self.index, address=str(interface.ip),
                      prefixlen=interface.network.prefixlen, flags=flags)
        LOG.info("home address %s on %s (%s)", interface, self.name,
                 "nodad noprefixroute" if flags & IFA_F_NOPREFIXROUTE else "nodad")

    def _remove_address(self, interface):
        try:
            self.ipr.addr("del", index=self.index, address=str(interface.ip),
                          prefixlen=interface.network.prefixlen)
        except NetlinkError as exc:
            if exc.code != errno.EADDRNOTAVAIL:
                raise
            return
        LOG.info("removed address %s from %s", interface, self.name)

    def _remove_routes(self, prefix):
        removed = 0
        for _ in range(16):  # one route a call: the kernel's and the RA's may both be there
            try:
                self.ipr.route("del", family=socket.AF_INET6, dst=str(prefix.network_address),
                               dst_len=prefix.prefixlen, oif=self.index)
            except NetlinkError as exc:
                if exc.code != errno.ESRCH:
                    raise
                break
            removed += 1
        if removed:
            LOG.info("removed %d route(s) to %s from %s", removed, prefix, self.name)

    def _default_route(self, gateway, source):
        route = dict(family=socket.AF_INET6, dst="::", dst_len=0, gateway=str(gateway),
                     oif=self.index, prefsrc=str(source), priority=DEFAULT_ROUTE_METRIC)
        self.ipr.route("replace", **route)
        if self.default_route != route:
            LOG.info("default route via %s dev %s src %s metric %d", gateway, self.name,
                     source, DEFAULT_ROUTE_METRIC)
        self.default_route = route

    # ------------------------------------------------------------------ end

    def close(self):
        """Remove the default route this agent added; addresses stay as they are."""
        if self.default_route is not None:
            try:
                self.ipr.route("del", **self.default_route)
            except (NetlinkError, OSError) as exc:
                LOG.debug("default route already gone: %s", exc)
        self.sock.close()
        self.monitor.close()
        self.ipr.close()


def run(node, interface, stopping, clock=time.time):
    """Feed ``node`` until ``stopping()`` is true: frames, address and carrier changes
    (netlink notifications, and a re-read every NETLINK_POLL seconds in case one is
    missed) and a timer tick every TICK seconds."""
    now = clock()
    interface.apply(node.start(now))
    addresses = interface.usable_addresses()
    interface.apply(node.addresses_changed(now, addresses))
    carrier = interface.carrier()
    next_poll = now + NETLINK_POLL
    while not stopping():
        readable = select.select(interface.fileno_list(), [], [], TICK)[0]
        now = clock()
        # Carrier and address changes first: a frame read in the same round (the new
        # link's RA) arrived after the carrier came up.
        if interface.monitor in readable or now >= next_poll:
            interface.drain_netlink()
            next_poll = now + NETLINK_POLL
            up = interface.carrier()
            if up != carrier:
                carrier = up
                interface.apply(node.link_changed(now, up))
            current = interface.usable_addresses()
            if set(current) != set(addresses):
                addresses = current
                interface.apply(node.addresses_changed(now, current))
        if interface.sock in readable:
            for frame in interface.receive_frames():
                interface.apply(node.frame_received(now, frame))
        interface.apply(node.tick(now))
