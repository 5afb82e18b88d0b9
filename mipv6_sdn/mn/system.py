"""The mobile node's effectful side: a packet socket, netlink, the clock.

:class:`Interface` owns one network interface: an AF_PACKET socket to send and receive
whole Ethernet frames (the kernel has no Mobile IPv6: it drops type 2 routing headers,
so Binding Acknowledgements are read here, before the IPv6 layer) with a classic BPF
filter that passes only what the mobile node reads, and pyroute2 (netlink) to change
addresses and routes and to watch the kernel's addresses (SLAAC forms the care-of
address) and carrier. With route optimisation a second packet socket finds new
correspondents: its filter (:func:`correspondent_filter`, set again whenever the core
says so) passes only the headers of frames to the home address from a route-optimised
prefix and from a source the node does not know yet, so a correspondent's stream wakes
the agent once, not per frame. :func:`run` is the event loop that feeds the pure
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
                                  RemoveOnLinkRoute, Send, WatchCorrespondents)

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
# Header or a Destination Options header first, a routing header followed by a Mobility
# Header (a BA has a type 2 routing header; a correspondent's data through one does not
# wake the agent), or ICMPv6 Router Advertisement, Parameter Problem (RFC 6275 §11.3.5)
# or DHAAD Reply. Offsets: Ethernet (14) + the IPv6 Next Header (6) = 20; the ICMPv6
# type, and the Next Header of a routing header, follow the 40-octet IPv6 header at 54.
_LDW_ABS, _LDH_ABS, _LDB_ABS, _AND_K, _JA, _JEQ_K, _RET_K = (
    0x20, 0x28, 0x30, 0x54, 0x05, 0x15, 0x06)
_ACCEPT_LEN = 0x40000
_FILTER = [
    ("ld", _LDH_ABS, 12), ("jeq", ETH_P_IPV6, None, "drop"),
    ("ld", _LDB_ABS, 20), ("jeq", wire.IPPROTO_ICMPV6, "icmp", None),
    ("jeq", wire.IPPROTO_MH, "accept", None),
    ("jeq", wire.IPPROTO_DSTOPTS, "accept", None),
    ("jeq", wire.IPPROTO_ROUTING, None, "drop"),
    ("ld", _LDB_ABS, 54), ("jeq", wire.IPPROTO_MH, "accept", "drop"),
    ("icmp",), ("ld", _LDB_ABS, 54),
    ("jeq", wire.ND_ROUTER_ADVERT, "accept", None),
    ("jeq", wire.ICMPV6_PARAM_PROBLEM, "accept", None),
    ("jeq", mobility.HAAD_REPLY, "accept", "drop"),
    ("accept",), ("ret", _ACCEPT_LEN),
    ("drop",), ("ret", 0),
]
# The filter of new correspondents returns the Ethernet and IPv6 headers only: the
# addresses are all the core needs, and a cut frame costs no copy of its payload.
WATCH_SNAP = wire.ETH_HEADER_LEN + wire.IPV6_HEADER_LEN
_SOURCE, _DESTINATION = wire.ETH_HEADER_LEN + 8, wire.ETH_HEADER_LEN + 24
_MAX_JUMP = 255  # jt and jf are 8 bits
_NOTHING = [("ret", 0)]


def _address_is(offset, address, otherwise):
    """BPF source: go on when the 16 octets at ``offset`` are ``address``, else jump to
    ``otherwise`` at the first word that differs."""
    source = []
    for i, word in enumerate(struct.unpack("!4I", address.packed)):
        source += [("ld", _LDW_ABS, offset + 4 * i), ("jeq", word, None, otherwise)]
    return source


def _address_inside(offset, prefix, otherwise):
    """BPF source: go on when the address at ``offset`` is inside ``prefix``, else jump
    to ``otherwise``: the words the prefix covers, the last one masked."""
    source, network, netmask = [], int(prefix.network_address), int(prefix.netmask)
    for i in range(4):
        shift = 96 - 32 * i
        mask = netmask >> shift & 0xFFFFFFFF
        if mask == 0:
            break
        source.append(("ld", _LDW_ABS, offset + 4 * i))
        if mask != 0xFFFFFFFF:
            source.append(("and", mask))
        source.append(("jeq", network >> shift & mask, None, otherwise))
    return source


def correspondent_filter(watch):
    """BPF source of the filter of new correspondents (a :class:`WatchCorrespondents`):
    IPv6 frames to the home address from inside one of the prefixes and from none of
    the known correspondents, cut to WATCH_SNAP octets; nothing without prefixes. Each
    block returns or jumps to the next one when its test fails, so no jump is long
    however many correspondents are known."""
    if not watch.prefixes:
        return _NOTHING
    source = [("ld", _LDH_ABS, 12), ("jeq", ETH_P_IPV6, None, "other"),
              *_address_is(_DESTINATION, watch.home_address, "other"), ("ja", "to home"),
              ("other",), ("ret", 0), ("to home",)]
    for i, prefix in enumerate(watch.prefixes):
        source += _address_inside(_SOURCE, prefix, f"prefix {i + 1}")
        source += [("ja", "inside"), (f"prefix {i + 1}",)]
    source += [("ret", 0), ("inside",)]
    for i, address in enumerate(watch.known):
        source += _address_is(_SOURCE, address, f"known {i + 1}")
        source += [("ret", 0), (f"known {i + 1}",)]
    return source + [("ret", WATCH_SNAP)]


def header_addresses(frame):
    """(source, destination) of a frame the filter of new correspondents passed, or
    None when it is shorter than its headers."""
    if len(frame) < WATCH_SNAP:
        return None
    return (ipaddress.IPv6Address(frame[_SOURCE:_SOURCE + 16]),
            ipaddress.IPv6Address(frame[_DESTINATION:_DESTINATION + 16]))


def bpf_program(source=None):
    """Assemble :data:`_FILTER`, or ``source`` in its form, into (code, jt, jf, k)
    instructions: ("ld", opcode, offset), ("and", k), ("jeq", k, jt, jf), ("ja",
    label), ("ret", k); labels are one-element tuples, a jump target None the next
    instruction. ValueError when a conditional jump is too long."""
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
        elif item[0] == "and":
            program.append((_AND_K, 0, 0, item[1]))
        elif item[0] == "ja":
            program.append((_JA, 0, 0, labels[item[1]] - here))
        elif item[0] == "ret":
            program.append((_RET_K, 0, 0, item[1]))
        else:
            _, k, jt, jf = item
            offsets = [0 if target is None else labels[target] - here for target in (jt, jf)]
            if max(offsets) > _MAX_JUMP:
                raise ValueError(f"jump of {max(offsets)} instructions: at most {_MAX_JUMP}")
            program.append((_JEQ_K, offsets[0], offsets[1], k))
    return program


def _attach_filter(sock, program):
    """SO_ATTACH_FILTER: struct sock_fprog {unsigned short len; struct sock_filter *}."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _packet_socket(name, program):
    """A non-blocking AF_PACKET socket on interface ``name`` for IPv6 frames, with the
    filter ``program``, that does not read what this host sends."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass  # older kernels: outgoing frames are dropped by their packet type on reading
    _attach_filter(sock, program)
    sock.bind((name, ETH_P_IPV6))
    sock.setblocking(False)
    return sock


def _attr(message, name):
    return message.get_attr(name) if hasattr(message, "get_attr") else message.get(name)


class Interface:
    """One interface of the mobile node: frames in and out, addresses and routes."""

    def __init__(self, name, watch_correspondents=False):
        """``watch_correspondents``: open the socket that finds new correspondents too
        (route optimisation); its filter passes nothing until the core sets it."""
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
        self.sock = _packet_socket(name, bpf_program())
        self.watch = _packet_socket(name, bpf_program(_NOTHING)) \
            if watch_correspondents else None
        self.default_route = None

    def fileno_list(self):
        return [self.sock, self.monitor] + ([self.watch] if self.watch is not None else [])

    # ------------------------------------------------------------------ reading

    def receive_frames(self, sock=None, size=65535):
        """Frames that arrived for this host (not those it sent) on ``sock`` (the
        signalling socket by default), without blocking."""
        sock = self.sock if sock is None else sock
        frames = []
        for _ in range(MAX_FRAMES_PER_WAKE):
            try:
                data, address = sock.recvfrom(size)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno != errno.ENETDOWN:  # reported while the carrier is down
                    raise
                break
            if address[2] not in (PACKET_OUTGOING, PACKET_OTHERHOST):
                frames.append(data)
        return frames

    def receive_headers(self):
        """(source, destination) of each frame the filter of new correspondents passed."""
        found = map(header_addresses, self.receive_frames(self.watch, WATCH_SNAP))
        return [addresses for addresses in found if addresses is not None]

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
        elif isinstance(action, WatchCorrespondents):
            if self.watch is not None:
                _attach_filter(self.watch, bpf_program(correspondent_filter(action)))
                LOG.debug("correspondent filter: %d prefix(es), %d known", len(action.prefixes),
                          len(action.known))
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
        if self.watch is not None:
            self.watch.close()
        self.monitor.close()
        self.ipr.close()


def run(node, interface, stopping, clock=time.time):
    """Feed ``node`` until ``stopping()`` is true: frames, the addresses of possible
    correspondents, address and carrier changes
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
        if interface.watch is not None and interface.watch in readable:
            for source, destination in interface.receive_headers():
                interface.apply(node.correspondent_seen(now, source, destination))
        interface.apply(node.tick(now))
