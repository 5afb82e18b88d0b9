"""The radio move: a mobile node's link pre-wired to every access switch, switched by
OpenFlow port-mods instead of re-attached (docs/mininet.md, "Two link moves").

One veth end belongs to one bridge only, so each mobile node gets a small bridge of its
own, its *radio hub*: port 1 is the veth to the host, and a patch port goes to each
access switch. The hub forwards between the host and its one active patch port (two
rules) and drops everything else, so it never joins two access switches. On the access
switches, every patch port but the active one is blocked by an OpenFlow port-mod
(OFPPC_NO_RECV and OFPPC_NO_FWD: OVS refuses OFPPC_PORT_DOWN on a patch port). The
controller sees a blocked port go down and an unblocked one come up, in the port status
OVS sends every controller but the one that asked.

A move blocks the old port, waits the chosen L2 outage (0 by default: a radio that
re-associates at once), points the hub at the new patch port and unblocks it. The host
sees no carrier change, as on a radio link: it learns of the move from the router
advertisement the controller sends when the new port comes up (RFC 4861 §6.2.4: a
router may advertise at once on an interface that becomes an advertising interface).

The messages are a handful of OpenFlow 1.3 structures, sent on each bridge's management
socket (``<rundir>/<bridge>.mgmt``) and confirmed by a barrier, with the standard library
only: this module also runs under ``mn --custom`` with Debian's Python. No process is
forked during a move, so the L2 outage is what the caller asked for plus well under a
millisecond.
"""
import os
import socket
import struct
import time

OFP_VERSION = 4  # OpenFlow 1.3
OFPT_HELLO, OFPT_ERROR, OFPT_FLOW_MOD, OFPT_PORT_MOD = 0, 1, 14, 16
OFPT_MULTIPART_REQUEST, OFPT_MULTIPART_REPLY = 18, 19
OFPT_BARRIER_REQUEST, OFPT_BARRIER_REPLY = 20, 21
OFPMP_PORT_DESC = 13
OFPMPF_REPLY_MORE = 1
OFPPC_NO_RECV, OFPPC_NO_FWD = 1 << 2, 1 << 5  # OpenFlow 1.3 §7.2.1, ofp_port_config
BLOCKED = OFPPC_NO_RECV | OFPPC_NO_FWD
OFPFC_ADD, OFPFC_DELETE = 0, 3
OFPTT_ALL, OFPP_ANY, OFPG_ANY, OFP_NO_BUFFER = 0xff, 0xffffffff, 0xffffffff, 0xffffffff
OFPIT_APPLY_ACTIONS, OFPAT_OUTPUT = 4, 0
OXM_IN_PORT = 0x80000004  # OFPXMC_OPENFLOW_BASIC, OFPXMT_OFB_IN_PORT, 4 bytes

HEADER = struct.Struct("!BBHI")  # version, type, length, xid
PORT = struct.Struct("!I4x6s2x16sIIIIIIII")  # ofp_port, 64 bytes
PORT_MOD = struct.Struct("!I4x6s2xIII4x")
FLOW_MOD = struct.Struct("!QQBBHHHIIIH2x")
MULTIPART = struct.Struct("!HH4x")

HOST_PORT = 1  # the hub's port to the host
RULE_PRIORITY = 1


def rundir():
    """Where Open vSwitch keeps its sockets (OVS_RUNDIR, as its tools read it)."""
    return os.environ.get("OVS_RUNDIR", "/var/run/openvswitch")


class OpenFlowError(RuntimeError):
    """The bridge refused a message (OFPT_ERROR: type and code in the message)."""


class BridgeConnection:
    """An OpenFlow 1.3 connection to one bridge's management socket."""

    def __init__(self, bridge, timeout=5.0):
        self.bridge = bridge
        self.xid = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(os.path.join(rundir(), f"{bridge}.mgmt"))
            self.sock.sendall(self._message(OFPT_HELLO, b""))
            version, kind, _ = self._receive()
            if kind != OFPT_HELLO or version < OFP_VERSION:
                raise OpenFlowError(f"{bridge}: no OpenFlow 1.3 hello (type {kind}, "
                                    f"version {version})")
        except BaseException:
            self.sock.close()
            raise

    def close(self):
        self.sock.close()

    def _message(self, kind, body):
        self.xid += 1
        return HEADER.pack(OFP_VERSION, kind, HEADER.size + len(body), self.xid) + body

    def _receive(self):
        header = self._exactly(HEADER.size)
        version, kind, length, _ = HEADER.unpack(header)
        return version, kind, self._exactly(length - HEADER.size)

    def _exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise OpenFlowError(f"{self.bridge}: connection closed")
            data += chunk
        return data

    def request(self, *messages):
        """Send ``(type, body)`` messages and a barrier; return the replies that came
        before the barrier's, or OpenFlowError if the bridge refused one."""
        self.sock.sendall(b"".join(self._message(kind, body) for kind, body in messages)
                          + self._message(OFPT_BARRIER_REQUEST, b""))
        replies = []
        while True:
            _, kind, body = self._receive()
            if kind == OFPT_BARRIER_REPLY:
                return replies
            if kind == OFPT_ERROR:
                error_type, code = struct.unpack_from("!HH", body)
                raise OpenFlowError(f"{self.bridge}: OpenFlow error type {error_type} "
                                    f"code {code}")
            replies.append((kind, body))

    def ports(self):
        """{port number: (hardware address, config)} of the bridge's ports."""
        found = {}
        for kind, body in self.request((OFPT_MULTIPART_REQUEST,
                                        MULTIPART.pack(OFPMP_PORT_DESC, 0))):
            if kind != OFPT_MULTIPART_REPLY:
                continue
            for offset in range(MULTIPART.size, len(body) - PORT.size + 1, PORT.size):
                fields = PORT.unpack_from(body, offset)
                found[fields[0]] = (fields[1], fields[3])
        return found


def port_mod(port, hw_addr, blocked):
    """OFPT_PORT_MOD that sets or clears NO_RECV and NO_FWD on ``port``."""
    return OFPT_PORT_MOD, PORT_MOD.pack(port, hw_addr, BLOCKED if blocked else 0, BLOCKED, 0)


def _match_in_port(port):
    """An OXM match on in_port, padded to 8 bytes (length 12 without the padding)."""
    return struct.pack("!HHII4x", 1, 12, OXM_IN_PORT, port)


def flow_delete_all():
    return OFPT_FLOW_MOD, FLOW_MOD.pack(0, 0, OFPTT_ALL, OFPFC_DELETE, 0, 0, 0,
                                        OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY, 0) + \
        struct.pack("!HH4x", 1, 4)


def flow_forward(in_port, out_port):
    """Table 0: what comes in on ``in_port`` goes out on ``out_port``."""
    instruction = struct.pack("!HH4xHHIH6x", OFPIT_APPLY_ACTIONS, 24, OFPAT_OUTPUT, 16,
                              out_port, 0)
    return OFPT_FLOW_MOD, FLOW_MOD.pack(0, 0, 0, OFPFC_ADD, 0, 0, RULE_PRIORITY,
                                        OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY, 0) + \
        _match_in_port(in_port) + instruction


class RadioLink:
    """One mobile node's hub and its patch ports, and which access switch is active.

    ``patches`` maps each access switch's name to (the hub's port, the switch's port) of
    their patch link. :meth:`point_hub` and :meth:`settle` make the bridges agree with ``active``;
    :meth:`move` hands the link to another access switch.
    """

    def __init__(self, hub, patches, active):
        self.hub = hub
        self.patches = dict(patches)
        self.active = active
        self.connections = {}
        self.hw_addrs = {}  # access switch -> its patch port's hardware address

    def _connection(self, bridge):
        if bridge not in self.connections:
            self.connections[bridge] = BridgeConnection(bridge)
        return self.connections[bridge]

    def _block(self, switch, blocked):
        port = self.patches[switch][1]
        if switch not in self.hw_addrs:
            self.hw_addrs[switch] = self._connection(switch).ports()[port][0]
        self._connection(switch).request(port_mod(port, self.hw_addrs[switch], blocked))

    def _point_hub_at(self, switch):
        hub_port = self.patches[switch][0]
        self._connection(self.hub).request(flow_delete_all(),
                                           flow_forward(HOST_PORT, hub_port),
                                           flow_forward(hub_port, HOST_PORT))

    def point_hub(self):
        """Make the hub forward between the host and the active patch port only."""
        self._point_hub_at(self.active)

    def settle(self, switch):
        """Block ``switch``'s patch port unless it is the active one's (once both of
        its bridges exist)."""
        self._block(switch, switch != self.active)

    def move(self, switch, l2_outage=0.0):
        """Block the old port, wait ``l2_outage`` seconds, point the hub at ``switch``
        and unblock its port; return (started, link_up), wall clock."""
        if switch not in self.patches:
            raise ValueError(f"{self.hub}: no radio link to {switch} "
                             f"(it has {', '.join(sorted(self.patches))})")
        started = time.time()
        self._block(self.active, True)
        if l2_outage > 0:
            time.sleep(l2_outage)
        self._point_hub_at(switch)
        self._block(switch, False)
        link_up = time.time()
        self.active = switch
        return started, link_up

    def close(self):
        for connection in self.connections.values():
            connection.close()
        self.connections.clear()
