"""A routing core on the reference graph with fake switches, and Scapy-built host packets.

The configuration is the reference network's, mininet_topos/roaming.toml of the source
checkout."""
import ipaddress
import pathlib

from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import Ether

from mipv6_sdn import wire
from mipv6_sdn.config import load_config
from mipv6_sdn.neighbour_discovery import INITIAL_RA_REPEAT
from mipv6_sdn.router import Router
from mipv6_sdn.testing.fake_switch import FakeNetwork

CONFIG = load_config(pathlib.Path(__file__).resolve().parents[2] / "mininet_topos" /
                     "roaming.toml")
ROUTER_MAC = "02:00:00:00:00:01"
LABEL = {link.name: link.label for link in CONFIG.links}
# The reference graph with fixed port numbers: (dpid, port, dpid, port).
TRUNKS = [(1, 3, 5, 1), (2, 3, 5, 2), (3, 3, 5, 3), (4, 3, 5, 4), (2, 4, 3, 4)]
HOSTS = {"mn1": (1, 1), "hh1": (1, 2), "cn1": (4, 1), "va1": (2, 1), "vb1": (3, 1)}
PORTS = {1: [1, 2, 3], 2: [1, 3, 4], 3: [1, 3, 4], 4: [1, 3], 5: [1, 2, 3, 4]}
HOST_ADDR = {"mn1": ("00:00:00:00:01:00", "2001:db8:1::100"),
             "hh1": ("00:00:00:00:00:10", "2001:db8:1::10"),
             "cn1": ("00:00:00:00:0c:10", "2001:db8:c::10"),
             "va1": ("00:00:00:00:0a:10", "2001:db8:a::10"),
             "vb1": ("00:00:00:00:0b:10", "2001:db8:b::10")}


class Harness:
    """A router, its fake switches, and a clock."""

    def __init__(self, config=None, now=1_800_000_000.0, router=None):
        self.now = now
        self.router = router or Router(config or CONFIG)
        self.net = FakeNetwork(TRUNKS, HOSTS)
        for dpid, ports in PORTS.items():
            self.run(self.router.switch_up(self.now, dpid, ports))
        for a, ap, b, bp in TRUNKS:
            self.run(self.router.link_up(self.now, a, ap, b, bp))
            self.run(self.router.link_up(self.now, b, bp, a, ap))
        # The second initial advertisement on every host port goes out now, so a test
        # starts with no RA due but the periodic ones.
        self.run(self.router.tick(self.now + INITIAL_RA_REPEAT))

    def run(self, msgs):
        """Apply rules to the fake switches; return [(dpid, ports, scapy frame)] sent."""
        return [(dpid, [a.port for a in msg.actions], Ether(msg.data))
                for dpid, msg in self.net.apply(msgs)]

    def packet_in(self, host, frame, **kwargs):
        dpid, port = HOSTS[host]
        return self.run(self.router.packet_in(self.now, dpid, port, bytes(frame), **kwargs))

    def learn(self, *hosts):
        """Each host claims its link-local and global addresses by DAD (source address
        validation binds them) and then solicits a neighbour, as a host that comes up
        does."""
        for host in hosts:
            self.packet_in(host, duplicate_address_detection(host, link_local(host)))
            self.packet_in(host, duplicate_address_detection(host))
            self.packet_in(host, neighbour_solicit(host, "2001:db8::1"))


def neighbour_solicit(host, target, src=None):
    mac, address = HOST_ADDR[host]
    return (Ether(src=mac, dst="33:33:ff:00:00:01") / IPv6(src=src or address,
            dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt=target)
            / ICMPv6NDOptSrcLLAddr(lladdr=mac))


def duplicate_address_detection(host, target=None):
    """RFC 4862 §5.4.2: ``host``'s DAD NS for ``target`` (its own address by default)."""
    mac, address = HOST_ADDR[host]
    target = target or address
    dst = str(wire.solicited_node(ipaddress.IPv6Address(target)))
    return (Ether(src=mac, dst=wire.multicast_mac(ipaddress.IPv6Address(dst))) /
            IPv6(src="::", dst=dst, hlim=255) / ICMPv6ND_NS(tgt=target))


def link_local(host):
    """fe80::/64 with the modified EUI-64 of ``host``'s MAC (RFC 4291 §2.5.1)."""
    mac = bytearray(wire.mac_to_bytes(HOST_ADDR[host][0]))
    mac[0] ^= 0x02
    iid = bytes(mac[:3]) + b"\xff\xfe" + bytes(mac[3:])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + iid))


def routed(host, dst, hop_limit=64, **fields):
    mac, address = HOST_ADDR[host]
    return dict(eth_src=mac, eth_dst=ROUTER_MAC, eth_type=0x86DD, ipv6_src=address,
                ipv6_dst=dst, hop_limit=hop_limit, ip_proto=58, icmpv6_type=128, **fields)


def echo_request(host, dst, hlim=64):
    mac, address = HOST_ADDR[host]
    return Ether(src=mac, dst=ROUTER_MAC) / IPv6(src=address, dst=dst, hlim=hlim) / \
        ICMPv6EchoRequest(id=7, seq=1, data=b"x" * 32)
