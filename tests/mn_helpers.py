"""What the tests of the mobile node's core share: a fake clock, the node of mn1, the
controller's router advertisements, and the home agent's Binding Acknowledgements built
with Scapy (signed with the RFC 4285 formula, tests/mipv6_frames.py)."""
import ipaddress

from scapy.layers.inet6 import (IPv6, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BU, MIP6OptMsgAuth,
                                MIP6OptReplayProtection)
from scapy.layers.l2 import Ether

from mipv6_sdn import packets, wire
from mipv6_sdn.mn import core
from mipv6_sdn.mn.actions import Send
from mipv6_sdn.mn.movement import Location
from tests.mipv6_frames import (HOME_AGENT, MN1_HOME, MN1_KEY, MN1_MAC, MN1_SPI, ROUTER_MAC,
                                sign)

A = ipaddress.IPv6Address
I = ipaddress.IPv6Interface
N = ipaddress.IPv6Network
HOA = A(MN1_HOME)
HA = A(HOME_AGENT)
HOME_PREFIX = N("2001:db8:1::/64")
VISIT_A = N("2001:db8:a::/64")
VISIT_B = N("2001:db8:b::/64")
COA_A = A("2001:db8:a::200:ff:fe00:100")  # what SLAAC forms from mn1's MAC
COA_B = A("2001:db8:b::200:ff:fe00:100")
SLAAC_HOME = I("2001:db8:1::200:ff:fe00:100/64")
ROUTER_LL = A("fe80::1")
T0 = 1_800_000_000.0
FIRST_SEQ = 100


class Clock:
    def __init__(self, now=T0):
        self.now = now


def make_node(home_agent_address=HA, lifetime=420, **kwargs):
    return core.MobileNode(home_address=I(f"{MN1_HOME}/64"), mac=MN1_MAC, spi=MN1_SPI,
                           key=MN1_KEY, home_agent_address=home_agent_address,
                           lifetime=lifetime, sequence=FIRST_SEQ - 1, dhaad_identifier=7,
                           **kwargs)


def ra(prefix, router_lifetime=1800, interval=10, home=False):
    """A router advertisement as the controller sends it (anycast router)."""
    return packets.router_advert(
        router_mac=ROUTER_MAC, src=ROUTER_LL, dst=wire.ALL_NODES, mtu=1496, prefix=prefix,
        valid_lifetime=86400, preferred_lifetime=14400, router_lifetime=router_lifetime,
        adv_interval_ms=int(interval * 1000), home_agent=HA if home else None,
        home_agent_lifetime=router_lifetime if home else 0)


def sent(actions):
    """The frames among ``actions``, decoded by Scapy."""
    return [Ether(a.frame) for a in actions if isinstance(a, Send)]


def binding(node):
    """The home agent's entry of the node's Binding Update List, or None."""
    return node.home_registration.binding


def of_type(actions, kind):
    return [a for a in actions if isinstance(a, kind)]


def bus(actions):
    return [f for f in sent(actions) if MIP6MH_BU in f]


def at_home(node, clock):
    actions = node.start(clock.now)
    actions += node.addresses_changed(clock.now, [I(f"{MN1_HOME}/64"), SLAAC_HOME])
    actions += node.frame_received(clock.now, ra(HOME_PREFIX, home=True))
    assert node.movement.location is Location.HOME
    return actions


def move(node, clock, prefix, care_of, others=()):
    """The RA of ``prefix``, then the kernel's SLAAC address ``care_of``."""
    actions = node.frame_received(clock.now, ra(prefix))
    addresses = [I((HOA, 128)), I((care_of, 64)), *others]
    return actions + node.addresses_changed(clock.now, addresses)


def binding_ack(bu_frame, status=0, lifetime=420, seq=None, stamp=None, key=MN1_KEY,
                spi=MN1_SPI, to_home=False, home=HOA):
    """The HA's answer to ``bu_frame`` (a Scapy frame), built with Scapy and signed with
    the RFC 4285 formula: to the care-of address with a type 2 routing header."""
    bu = bu_frame[MIP6MH_BU]
    care_of = bu_frame[IPv6].src
    if stamp is None:
        stamp = bu[MIP6OptReplayProtection].timestamp
    mh = MIP6MH_BA(status=status, flags=0, seq=bu.seq if seq is None else seq,
                   mhtime=lifetime // 4, options=[
                       MIP6OptReplayProtection(timestamp=stamp),
                       MIP6OptMsgAuth(subtype=1, mspi=spi, authdata=b"\0" * 12)])
    mh = sign(mh, key, care_of, str(home))
    if to_home:
        packet = IPv6(src=str(HA), dst=str(home)) / mh
    else:
        packet = IPv6(src=str(HA), dst=care_of) / IPv6ExtHdrRouting(
            type=2, addresses=[str(home)], segleft=1) / mh
    return bytes(Ether(src=ROUTER_MAC, dst=MN1_MAC) / packet)


def run_until(node, clock, end, step=0.05):
    """Tick the node to ``end``; return [(time, actions)] for every tick that acted."""
    out = []
    while clock.now < end - 1e-9:
        clock.now = round(clock.now + step, 6)
        actions = node.tick(clock.now)
        if actions:
            out.append((clock.now, actions))
    return out


def registered(node, clock, prefix=VISIT_A, care_of=COA_A):
    """Home, then moved to ``prefix`` and bound there; returns the BU frame."""
    at_home(node, clock)
    [bu] = bus(move(node, clock, prefix, care_of))
    node.frame_received(clock.now, binding_ack(bu))
    assert binding(node) is not None
    return bu
