"""Mininet topologies of mipv6-sdn and the helpers that run them.

``roaming`` is the reference network (docs/mininet.md); ``access`` generates
larger networks of the same pattern for scale work. Both are exported in ``topos``, and
the node classes in ``switches`` and ``hosts``, for ``mn --custom`` (docs/mininet.md)::

    mn --custom mininet_topos/roaming.py --topo roaming \
       --controller remote,ip=127.0.0.1,port=6653

This module runs under Debian's system Python (``mn --custom``) as well as the
project's venv, so it imports only Mininet and the standard library.

The topologies are self-sufficient: their nodes configure themselves whoever builds
the network (``mn``, :func:`start_network` or a plain ``Mininet``).
:class:`MobileIPv6Host` sets up IPv6 when Mininet configures the hosts (IPv6-only, no
IPv4 address). :class:`UserspaceSwitch` is a userspace Open vSwitch (the machine has no
OVS kernel module) speaking OpenFlow 1.3 in fail-secure mode, so nothing is forwarded
until the controller installs flows; it turns IPv6 off on its ports as it starts.

``mn --custom`` executes this file and copies every top-level name into the ``mn``
script's globals, so no top-level name may shadow one of mn's (its class tables are
SWITCHES, HOSTS and LINKS: shadowing them makes ``mn`` fail, and ``mn`` then runs its
cleanup, which removes every Mininet bridge on the machine). tests/test_topology.py
checks this.
"""
import collections
import fcntl
import hashlib
import ipaddress
import os
import pathlib
import subprocess
import tempfile
import socket
import struct
import sys
import time

import mininet.cli
from mininet.link import OVSIntf, OVSLink
from mininet.log import info, warn
from mininet.util import errRun
from mininet.net import Mininet
from mininet.node import Host, OVSSwitch, RemoteController
from mininet.topo import Topo

ROUTER_LL = "fe80::1"
# Metric of the hosts' static default route via ROUTER_LL: a fallback above the 1024 of
# the default route the kernel learns from RAs. At 1024 the two would be identical, and
# the kernel then drops every RA whole ("RA: ndisc_router_discovery failed to add
# default route"), MTU option and prefixes included.
FALLBACK_ROUTE_METRIC = 2048

# Reference network (docs/mininet.md).
REFERENCE_SWITCHES = {"s1": 1, "s2": 2, "s3": 3, "s4": 4, "s5": 5}
SWITCH_LINKS = [("s1", "s5"), ("s2", "s5"), ("s3", "s5"), ("s4", "s5"), ("s2", "s3")]
REFERENCE_LINKS = {
    "home": ("s1", "2001:db8:1::/64"),
    "visit-a": ("s2", "2001:db8:a::/64"),
    "visit-b": ("s3", "2001:db8:b::/64"),
    "corr": ("s4", "2001:db8:c::/64"),
}
REFERENCE_HOSTS = {
    "mn1": {"mac": "00:00:00:00:01:00", "switch": "s1", "address": "2001:db8:1::100/64"},
    "hh1": {"mac": "00:00:00:00:00:10", "switch": "s1", "address": "2001:db8:1::10/64"},
    "cn1": {"mac": "00:00:00:00:0c:10", "switch": "s4", "address": "2001:db8:c::10/64"},
}
MOBILE_NODES = ["mn1"]
HOME_AGENT = "2001:db8:1::1"
MAX_REFERENCE_MOBILE_NODES = 4  # mn1..mn4: roaming.toml has their security associations


def _this_file():
    """This file's path, also under ``mn --custom``, which runs it without ``__file__``."""
    return pathlib.Path(_this_file.__code__.co_filename).resolve()


try:
    from mininet_topos import radio
except ImportError:  # ``mn --custom`` runs this file from outside the package
    sys.path.insert(0, str(_this_file().parent.parent))
    from mininet_topos import radio

AGENT = _this_file().parent.parent / ".venv" / "bin" / "mipv6-mn"
AGENT_LIFETIME = 60  # s, the binding lifetime the agents ask for

# Generated access networks: interface identifiers of hosts (see access_plan).
FIRST_STATIONARY_IID = 0x10
FIRST_MOBILE_IID = 0x100
MAX_LINKS = 0xffff
MAX_HOSTS_PER_LINK = FIRST_MOBILE_IID - FIRST_STATIONARY_IID
MAX_MOBILE_NODES = 0x10000 - FIRST_MOBILE_IID


def security_association(index):
    """The MN-HA security association (RFC 4285) of mobile node ``mn<index>``, as the
    configurations have it: mn1's is the reference one, mn<j>'s SPI 255 + j and a test
    key from its name (these keys protect an emulation, never a real network)."""
    if index == 1:
        return {"spi": 256, "key": "000102030405060708090a0b0c0d0e0f10111213"}
    return {"spi": 255 + index, "key": hashlib.sha1(f"mipv6-sdn mn{index}".encode()).hexdigest()}


def mobile_node_home(index):
    """mn<index>'s home address on the home link 2001:db8:1::/64, with its length."""
    return f"2001:db8:1::{FIRST_MOBILE_IID + index - 1:x}/64"


def dpid_hex(dpid):
    """The 16 hex digits Mininet and OVS expect for an integer dpid."""
    return f"{dpid:016x}"


def flag(value, name):
    """A topology's yes/no option: a bool from Python, or the text ``mn`` hands over
    (``--topo roaming,agents=False`` gives the string "False")."""
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ValueError(f"{name}: {value!r} is neither True nor False")


HUB_DPID_BASE = 0x6875620000000000  # "hub" in the top bytes: apart from access dpids


def _build(topo, switches, hosts, mobile_nodes, switch_links, access_switches, agents=True,
           radio_links=True):
    """Add switches, hosts with their access links, then inter-switch links.

    Switches are :class:`UserspaceSwitch`, hosts :class:`MobileIPv6Host`. Host links
    come first, so hosts get the low port numbers of their switch. Each host carries
    its IPv6 address (``ipv6_address``) and whether it is a mobile node (``mobile``)
    as node parameters, read by :func:`configure_host`; a mobile node ``mn<j>`` also
    ``agent``, its agent's settings (None when ``agents`` is off), which the CLI
    starts (:func:`start_agents`). With ``radio_links`` a mobile node ``mn<j>`` is
    linked to its radio hub ``hub<j>`` (:class:`RadioHub`), patched to every switch of
    ``access_switches``: the patch port to its first switch takes the port its own
    link would have had, the others come after every host's; without, a mobile node
    has a plain link to its first switch, moved by re-attaching it (:func:`move_host`).
    """
    agents, radio_links = flag(agents, "agents"), flag(radio_links, "radio")
    for name, dpid in switches.items():
        topo.addSwitch(name, cls=UserspaceSwitch, dpid=dpid_hex(dpid))
    later = []
    for name, host in hosts.items():
        mobile = name in mobile_nodes
        agent = None
        if mobile and agents:
            agent = {"home_address": host["address"], "home_agent": HOME_AGENT,
                     **security_association(int(name[2:]))}
        topo.addHost(name, cls=MobileIPv6Host, mac=host["mac"], ip=None,
                     ipv6_address=host["address"], mobile=mobile, agent=agent)
        if not (mobile and radio_links):
            topo.addLink(name, host["switch"])
            continue
        hub = f"hub{name[2:]}"
        topo.addSwitch(hub, cls=RadioHub, dpid=dpid_hex(HUB_DPID_BASE + int(name[2:])),
                       active=host["switch"])
        topo.addLink(name, hub, port2=radio.HOST_PORT)
        topo.addLink(hub, host["switch"], cls=OVSLink)
        later += [(hub, switch) for switch in access_switches if switch != host["switch"]]
    for hub, switch in later:
        topo.addLink(hub, switch, cls=OVSLink)
    for switch_a, switch_b in switch_links:
        topo.addLink(switch_a, switch_b)


class RoamingTopo(Topo):
    """The reference network: home s1, visited s2 and s3, correspondent s4, core s5.

    ``mobile_nodes`` (1..4) mobile nodes mn1, mn2, ... start on the home link (mn<j>:
    MAC 00:00:00:00:01:<j-1>, home address 2001:db8:1::<0x100 + j - 1>); ``agents``
    says whether the CLI starts their agents. ``extra_hosts`` (name: mac, switch,
    address or None for SLAAC) are added after the reference hosts and the mobile
    nodes, so they take the next ports of their switches. ``radio`` (True): each mobile
    node reaches every access switch through its radio hub and moves by port-mods
    (:func:`move_host`); False gives it a plain link, moved by re-attaching it. Under
    ``mn``: ``--topo roaming,mobile_nodes=3,agents=False,radio=False``."""

    def build(self, extra_hosts=None, mobile_nodes=1, agents=True, radio=True):
        if not 1 <= mobile_nodes <= MAX_REFERENCE_MOBILE_NODES:
            raise ValueError(f"mobile_nodes: {mobile_nodes} out of range "
                             f"1..{MAX_REFERENCE_MOBILE_NODES} (roaming.toml has their keys)")
        more = {f"mn{j}": {"mac": f"00:00:00:00:01:{j - 1:02x}", "switch": "s1",
                           "address": mobile_node_home(j)}
                for j in range(2, mobile_nodes + 1)}
        _build(self, REFERENCE_SWITCHES, {**REFERENCE_HOSTS, **more, **(extra_hosts or {})},
               MOBILE_NODES + list(more), SWITCH_LINKS,
               [switch for switch, _ in REFERENCE_LINKS.values()], agents, radio)


def access_plan(n_links=4, hosts_per_link=1, mobile_nodes=1):
    """The address plan of a generated access network, as plain data.

    Link ``i`` (1..n_links) is switch ``s<i>`` with dpid ``i``, named ``link<i>``,
    prefix ``2001:db8:<i in hex>::/64`` (link 16 is ``2001:db8:10::/64``) and router
    ``prefix::1``. Link 1 is the home link; its router is also the home agent. The
    core switch ``s<n_links+1>`` (dpid n_links+1) links to every access switch, so
    ``access_plan(4)`` numbers its switches like the reference network.

    Stationary host ``h<i>_<k>`` (k = 1..hosts_per_link) sits on link ``i`` at
    ``prefix::<0x10 + k - 1>``. Mobile node ``mn<j>`` (j = 1..mobile_nodes) starts on
    link 1 with home address ``2001:db8:1::<0x100 + j - 1>``. A host's MAC is
    ``00:00:LL:LL:II:II``: LLLL its (home) link number, IIII its interface identifier.

    Returns a dict with ``switches`` (name -> integer dpid), ``core`` (name of the core
    switch), ``links`` (list of dicts: name, switch, dpid, prefix, router,
    home_agent or None), ``switch_links`` (pairs of switch names), ``hosts`` (name ->
    dict of mac, switch, address with prefix length) and ``mobile_nodes`` (names).
    """
    if not 1 <= n_links <= MAX_LINKS:
        raise ValueError(f"n_links: {n_links} out of range 1..{MAX_LINKS}")
    if not 0 <= hosts_per_link <= MAX_HOSTS_PER_LINK:
        raise ValueError(
            f"hosts_per_link: {hosts_per_link} out of range 0..{MAX_HOSTS_PER_LINK}")
    if not 0 <= mobile_nodes <= MAX_MOBILE_NODES:
        raise ValueError(f"mobile_nodes: {mobile_nodes} out of range 0..{MAX_MOBILE_NODES}")
    core = f"s{n_links + 1}"
    switches = {f"s{i}": i for i in range(1, n_links + 1)}
    switches[core] = n_links + 1
    links, hosts = [], {}
    for i in range(1, n_links + 1):
        prefix = ipaddress.IPv6Network(f"2001:db8:{i:x}::/64")
        router = str(prefix[1])
        links.append({"name": f"link{i}", "switch": f"s{i}", "dpid": i,
                      "prefix": str(prefix), "router": router,
                      "home_agent": router if i == 1 else None})
        for k in range(1, hosts_per_link + 1):
            hosts[f"h{i}_{k}"] = _access_host(i, FIRST_STATIONARY_IID + k - 1)
    mobile_names = [f"mn{j}" for j in range(1, mobile_nodes + 1)]
    for j, name in enumerate(mobile_names):
        hosts[name] = _access_host(1, FIRST_MOBILE_IID + j)
    return {"switches": switches, "core": core, "links": links,
            "switch_links": [(f"s{i}", core) for i in range(1, n_links + 1)],
            "hosts": hosts, "mobile_nodes": mobile_names}


def _access_host(link, iid):
    """A host of access link ``link`` with interface identifier ``iid``."""
    prefix = ipaddress.IPv6Network(f"2001:db8:{link:x}::/64")
    mac = ":".join(f"{byte:02x}" for byte in (0, 0, link >> 8, link & 0xff,
                                             iid >> 8, iid & 0xff))
    return {"mac": mac, "switch": f"s{link}", "address": f"{prefix[iid]}/64"}


def access_config_toml(plan):
    """A controller configuration (TOML) for a plan from :func:`access_plan`.

    The controller settings are those of the reference ``roaming.toml``, so results
    of generated networks compare with the reference network's.
    """
    lines = ["[controller]", "ra_interval = 10", "mtu = 1496"]
    for link in plan["links"]:
        lines += ["", "[[link]]",
                  f'name = "{link["name"]}"',
                  f'dpid = {link["dpid"]}',
                  f'prefix = "{link["prefix"]}"',
                  f'router = "{link["router"]}"']
        if link["home_agent"]:
            lines.append(f'home_agent = "{link["home_agent"]}"')
    for index, name in enumerate(plan["mobile_nodes"], start=1):
        association = security_association(index)
        lines += ["", "[[mobile_node]]",
                  f'home_address = "{plan["hosts"][name]["address"].split("/")[0]}"',
                  f'spi = {association["spi"]}', f'key = "{association["key"]}"']
    return "\n".join(lines) + "\n"


class AccessTopo(Topo):
    """A star of ``n_links`` access switches around one core (see :func:`access_plan`);
    ``agents`` and ``radio`` as for :class:`RoamingTopo`."""

    def build(self, n_links=4, hosts_per_link=1, mobile_nodes=1, agents=True, radio=True):
        plan = access_plan(n_links, hosts_per_link, mobile_nodes)
        _build(self, plan["switches"], plan["hosts"], plan["mobile_nodes"],
               plan["switch_links"], [link["switch"] for link in plan["links"]], agents,
               radio)


topos = {"roaming": RoamingTopo, "access": AccessTopo}


def run_in(node, *args):
    """Run a command in ``node``'s namespace; raise RuntimeError if it fails."""
    out, err, exitcode = node.pexec(*[str(arg) for arg in args])
    if exitcode:
        raise RuntimeError(f"{node.name}: {' '.join(map(str, args))}: exit {exitcode}: "
                           f"{(err or out).strip()}")
    return out


def configure_host(host, ipv6_address=None, mobile=False, optimistic_dad=True):
    """Give one host its IPv6 set-up; idempotent, needs the host's link to exist.

    IPv6 on with router advertisements and SLAAC accepted, checksum offload off (TCP
    through the OVS userspace datapath needs it), IPv4 flushed, the static address
    ``ipv6_address`` (with prefix length; none if None) and a fallback default route
    via the anycast router ``fe80::1`` (metric FALLBACK_ROUTE_METRIC, so router
    advertisements, MTU and prefixes included, are taken whenever they come).
    Stationary hosts skip DAD. Mobile nodes use optimistic DAD (RFC 4429), for their
    home address and every care-of address SLAAC forms, so an address is usable at
    once; with ``optimistic_dad`` False they keep ordinary DAD (the baseline of the
    benchmarks).
    """
    intf = host.defaultIntf()
    conf = f"net.ipv6.conf.{intf}"
    sysctls = ["net.ipv6.conf.all.disable_ipv6=0", f"{conf}.disable_ipv6=0",
               f"{conf}.accept_ra=1", f"{conf}.autoconf=1"]
    if mobile:
        flag = int(optimistic_dad)
        sysctls += [f"{conf}.optimistic_dad={flag}", f"{conf}.use_optimistic={flag}"]
        dad_flags = ["optimistic"] if optimistic_dad else []
    else:
        dad_flags = ["nodad"]
    run_in(host, "sysctl", "-q", "-w", *sysctls)
    run_in(host, "ethtool", "-K", intf, "tx", "off", "tso", "off", "gso", "off")
    run_in(host, "ip", "-4", "addr", "flush", "dev", intf)
    if ipv6_address:
        run_in(host, "ip", "-6", "addr", "replace", ipv6_address, "dev", intf, *dad_flags)
    run_in(host, "ip", "-6", "route", "replace", "default", "via", ROUTER_LL, "dev", intf,
         "metric", FALLBACK_ROUTE_METRIC)


def configure_hosts(net, optimistic_dad=True):
    """:func:`configure_host` for every host of ``net``, with the node parameters
    ``ipv6_address`` and ``mobile`` the topologies set; run after ``net.build()``."""
    for host in net.hosts:
        _configure_from_params(host, optimistic_dad)


def _configure_from_params(host, optimistic_dad):
    configure_host(host, host.params.get("ipv6_address"), host.params.get("mobile", False),
                   optimistic_dad)


def disable_ipv6(switch, intfs):
    """Turn IPv6 off on the switch-side interfaces ``intfs`` (root namespace), so their
    links get no RS, DAD or MLD from the switch side; ``lo`` and patch ports (no kernel
    interface) are left alone."""
    keys = [f"net.ipv6.conf.{intf}.disable_ipv6=1" for intf in intfs
            if str(intf) != "lo" and not isinstance(intf, OVSIntf)]
    if keys:
        run_in(switch, "sysctl", "-q", "-w", *keys)




class MobileIPv6Host(Host):
    """An IPv6-only host that sets itself up (:func:`configure_host`) when configured.

    Mininet calls ``config(**params)`` with the host's node parameters once its links
    exist (``Mininet.build``, also under ``mn``). Parameters besides Mininet's own:
    ``ipv6_address`` (with prefix length, or None), ``mobile`` (False) and
    ``optimistic_dad`` (True). Give the hosts ``ip=None``: IPv4 is flushed anyway.
    """

    def config(self, ipv6_address=None, mobile=False, optimistic_dad=True, **params):
        result = super().config(**params)
        if self.defaultIntf() is not None:
            configure_host(self, ipv6_address, mobile, optimistic_dad)
        return result


class UserspaceSwitch(OVSSwitch):
    """Open vSwitch on the userspace datapath, OpenFlow 1.3, fail-secure, no IPv6.

    Interfaces carry no IPv6 from the switch side (:func:`disable_ipv6`): those present
    when the switch starts, and those attached later with ``attach``.
    """

    def __init__(self, name, datapath="user", failMode="secure", protocols="OpenFlow13",
                 **params):
        super().__init__(name, datapath=datapath, failMode=failMode, protocols=protocols,
                         **params)

    def start(self, controllers):
        disable_ipv6(self, self.intfList())
        super().start(controllers)

    @classmethod
    def batchStartup(cls, switches, run=errRun):
        """Mininet creates the bridges of one class in a batch, after every ``start``:
        then radio hubs created before these switches block their patch ports here."""
        started = super().batchStartup(switches, run)
        for switch in switches:
            for intf in switch.intfList():
                hub = _patch_peer(intf)
                if isinstance(hub, RadioHub) and hub.radio is not None:
                    hub.radio.settle(switch.name)
        return started

    def attach(self, intf):
        disable_ipv6(self, [intf])
        super().attach(intf)


def _patch_peer(intf):
    """The node at the other end of ``intf`` when it is a patch port, else None."""
    if not isinstance(intf, OVSIntf):
        return None
    link = intf.link
    return (link.intf2 if link.intf1 is intf else link.intf1).node


class RadioHub(UserspaceSwitch):
    """A mobile node's radio hub (mininet_topos/radio.py): port 1 to the host, a patch
    port to every access switch, no controller. ``active`` (node parameter) names the
    access switch the host starts on. Whichever starts last, the hub or an access
    switch, blocks that switch's patch port unless it is the active one."""

    def __init__(self, name, active=None, **params):
        super().__init__(name, **params)
        self.first_active = active
        self.access_switches = {}  # name -> node, of the switches it is patched to
        self.radio = None

    def start(self, controllers):
        super().start([])

    @classmethod
    def batchStartup(cls, switches, run=errRun):
        """Once the hubs exist: point each at its first switch and block the patch
        ports of the access switches that exist already (the others block theirs when
        their batch runs, :meth:`UserspaceSwitch.batchStartup`)."""
        started = super().batchStartup(switches, run)
        for hub in switches:
            patches = {}
            for intf in hub.intfList():
                peer = _patch_peer(intf)
                if peer is not None:
                    link = intf.link
                    other = link.intf2 if link.intf1 is intf else link.intf1
                    patches[peer.name] = (hub.ports[intf], peer.ports[other])
                    hub.access_switches[peer.name] = peer
            hub.radio = radio.RadioLink(hub.name, patches, hub.first_active)
            hub.radio.point_hub()
            for switch in patches:
                if os.path.exists(os.path.join(radio.rundir(), f"{switch}.mgmt")):
                    hub.radio.settle(switch)
        return started

    def connected(self):
        return True  # it has no controller to wait for

    def stop(self, deleteIntfs=True):
        if self.radio is not None:
            self.radio.close()
        super().stop(deleteIntfs)

    @classmethod
    def batchShutdown(cls, switches, run=errRun):
        for hub in switches:
            if hub.radio is not None:
                hub.radio.close()
        return super().batchShutdown(switches, run)


# Node classes by name, for ``mn --custom ... --switch userspace`` / ``--host mipv6``
# with other topologies (the topologies above set their node classes themselves).
switches = {"userspace": UserspaceSwitch}
hosts = {"mipv6": MobileIPv6Host}


Move = collections.namedtuple("Move", "port started link_up")
Move.__doc__ = """A link move: the host's new OpenFlow port, and when (wall clock, s) its
link went down and came up again (the L2 outage between them)."""


def move_host(net, host_name, new_switch_name, l2_outage=0.0):
    """Move a host's link to another switch at run time; return its :data:`Move`.

    A mobile node with a radio hub (:class:`RadioHub`, the topologies' default) moves
    by port-mods (mininet_topos/radio.py): its old patch port is blocked, ``l2_outage``
    seconds pass, and the new one is unblocked; the host's carrier stays up and the
    router advertisement the controller sends on the new port tells it it moved.
    Any other host is re-attached: its switch-side interface goes down (the host sees
    carrier loss), moves between the bridges in one ovs-vsctl transaction and comes up
    again after at least ``l2_outage`` seconds (about 20 ms at best, the transaction).
    Moving to the current switch changes nothing. Under ``mn``, the CLI offers it to
    ``py``: ``py move_host(net, 'mn1', 's2')``.
    """
    host, new_switch = net[host_name], net[new_switch_name]
    link = host.defaultIntf().link
    intf = link.intf2 if link.intf1.node is host else link.intf1
    if isinstance(intf.node, RadioHub):
        radio_link = intf.node.radio
        port = radio_link.patches[new_switch.name][1] if new_switch.name in \
            radio_link.patches else None
        if radio_link.active == new_switch.name:
            now = time.time()
            return Move(port, now, now)
        started, link_up = radio_link.move(new_switch.name, l2_outage)
        return Move(port, started, link_up)
    return _reattach(host, intf, new_switch, l2_outage)


def _reattach(host, intf, new_switch, l2_outage):
    """The re-attach move of :func:`move_host`, as in Mininet's examples/mobility.py.
    Down and up are ioctls in this process when the switch is in the root namespace,
    so the times recorded are the link's own; Mininet's bookkeeping follows, so
    ``net.stop()`` still cleans up."""
    old_switch = intf.node
    if old_switch is new_switch:
        now = time.time()
        return Move(_ofport(new_switch, intf), now, now)
    port = new_switch.newPort()
    started = time.time()
    _set_link(old_switch, intf, up=False)
    run_in(new_switch, "ovs-vsctl", "del-port", old_switch, intf, "--", "add-port", new_switch,
           intf, "--", "set", "Interface", intf, f"ofport_request={port}")
    if l2_outage > 0:
        time.sleep(max(0.0, started + l2_outage - time.time()))
    _set_link(new_switch, intf, up=True)
    link_up = time.time()
    old_switch.delIntf(intf)
    new_switch.addIntf(intf, port=port)
    intf.node = new_switch
    return Move(port, started, link_up)


SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1  # <linux/sockios.h>, <net/if.h>
IFREQ_FLAGS = struct.Struct("16sH14x")  # struct ifreq: name, ifr_flags


def _set_link(switch, intf, up):
    """Bring ``intf`` of ``switch`` up or down: an ioctl here when the switch is in
    this namespace (no fork to wait for), else ``ip link`` in its namespace."""
    if switch.inNamespace:
        run_in(switch, "ip", "link", "set", intf, "up" if up else "down")
        return
    name = str(intf).encode()
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        _, flags = IFREQ_FLAGS.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, IFREQ_FLAGS.pack(name, 0)))
        flags = flags | IFF_UP if up else flags & ~IFF_UP
        fcntl.ioctl(sock, SIOCSIFFLAGS, IFREQ_FLAGS.pack(name, flags))


def _ofport(switch, intf):
    """The OpenFlow port number OVS gave ``intf``; RuntimeError if it has none."""
    ofport = int(run_in(switch, "ovs-vsctl", "get", "Interface", intf, "ofport"))
    if ofport < 1:
        raise RuntimeError(f"{switch.name}: {intf} has no OpenFlow port ({ofport})")
    return ofport


def agent_command(host, home_address, home_agent, spi, key, lifetime=AGENT_LIFETIME,
                  extra=()):
    """The command line of the mobile-node agent (docs/mobile-node.md) in ``host``."""
    return [str(AGENT), "--interface", str(host.defaultIntf()), "--home-address",
            home_address, "--home-agent", home_agent, "--spi", str(spi), "--key-hex", key,
            "--lifetime", str(lifetime), *extra]


def start_agents(net, log_dir=None, only=None):
    """Start the agent of every mobile node whose topology asked for one (node
    parameter ``agent``), or of those named in ``only``; {host name: process}, logs in
    ``log_dir`` (a new temporary folder unless given). Nothing is started, and one line
    says why, without the venv."""
    wanted = [host for host in net.hosts if host.params.get("agent")
              and (only is None or host.name in only)]
    if not wanted:
        return {}
    if not AGENT.exists():
        warn(f"*** no mobile-node agent at {AGENT}: run `make setup` first; the mobile "
             "nodes stay without one\n")
        return {}
    log_dir = log_dir or tempfile.mkdtemp(prefix="mipv6-agents-")
    agents = {}
    for host in wanted:
        with open(os.path.join(log_dir, f"{host.name}.log"), "w") as log:
            agents[host.name] = host.popen(agent_command(host, **host.params["agent"]),
                                           stdout=log, stderr=subprocess.STDOUT)
    info(f"*** mobile-node agents started in {' '.join(sorted(agents))}; logs in {log_dir}\n")
    return agents


def stop_agents(agents):
    """SIGTERM each agent by pid (they deregister nothing: the controller's bindings
    expire), then reap it."""
    for process in agents.values():
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class RoamingCLI(mininet.cli.CLI):
    """Mininet's CLI with ``move``, ``where`` and host-aware ``links`` commands, and
    :func:`move_host` in the namespace of ``py`` and ``px``. It starts the mobile-node
    agents the topology asks for before the prompt and stops them after."""

    def __init__(self, mininet, *args, **kwargs):
        self.agents = start_agents(mininet)
        try:
            super().__init__(mininet, *args, **kwargs)
        finally:
            stop_agents(self.agents)

    def getLocals(self):
        names = super().getLocals()
        names.setdefault("move_host", move_host)
        return names

    def do_move(self, line):
        """move HOST SWITCH [L2_OUTAGE_MS]: move HOST's link to SWITCH (:func:`move_host`:
        a mobile node's radio hub switches ports, any other host is re-attached), with
        the link gone for L2_OUTAGE_MS (default 0)."""
        names = line.split()
        if len(names) not in (2, 3) or len(names) == 3 and not _is_number(names[2]):
            self.stdout.write("usage: move HOST SWITCH [L2_OUTAGE_MS] (e.g. move mn1 s2)\n")
            return
        host, switch = (self.mn.nameToNode.get(name) for name in names[:2])
        targets = [s for s in self.mn.switches if not isinstance(s, RadioHub)]
        if host not in self.mn.hosts:
            self.stdout.write(f"move: no host {names[0]!r} (hosts: "
                              f"{' '.join(h.name for h in self.mn.hosts)})\n")
        elif switch not in targets:
            self.stdout.write(f"move: no switch {names[1]!r} (switches: "
                              f"{' '.join(s.name for s in targets)})\n")
        else:
            try:
                move = move_host(self.mn, host.name, switch.name,
                                 float(names[2]) / 1000 if len(names) == 3 else 0.0)
            except ValueError as exc:
                self.stdout.write(f"move: {exc}\n")
                return
            self.stdout.write(f"{host.name} is on {switch.name} port {move.port} (link down "
                              f"{(move.link_up - move.started) * 1000:.1f} ms)\n")

    def do_where(self, line):
        """where HOST: the switch and port HOST is on, and its global addresses."""
        host = self.mn.nameToNode.get(line.strip())
        if host not in self.mn.hosts:
            self.stdout.write("usage: where HOST (e.g. where mn1)\n")
            return
        self.stdout.write(where(host) + "\n")

    def do_links(self, _line):
        """Every link as the nodes and OpenFlow ports it joins now (after moves); a radio
        hub's patch links but the active one are blocked."""
        for link in self.mn.links:
            ends = [f"{intf.node.name}:{_port_of(intf)}" for intf in (link.intf1, link.intf2)]
            hub, switch = (link.intf1.node, link.intf2.node)
            blocked = isinstance(hub, RadioHub) and isinstance(link.intf2, OVSIntf) and \
                hub.radio is not None and hub.radio.active != switch.name
            self.stdout.write(f"{ends[0]} <-> {ends[1]}{' (blocked)' if blocked else ''}\n")


def _is_number(text):
    try:
        return float(text) >= 0
    except ValueError:
        return False


def attachment(host):
    """(switch node, OpenFlow port) where ``host``'s link reaches the network now: for a
    mobile node with a radio hub, its active access switch's patch port."""
    intf = host.defaultIntf()
    peer = intf.link.intf2 if intf.link.intf1 is intf else intf.link.intf1
    if isinstance(peer.node, RadioHub):
        hub = peer.node
        return hub.access_switches[hub.radio.active], hub.radio.patches[hub.radio.active][1]
    return peer.node, _port_of(peer)


def where(host):
    """Where ``host`` is: its switch and port, the access link there, its addresses."""
    intf = host.defaultIntf()
    switch, port = attachment(host)
    link = next((name for name, (name_of_switch, _) in REFERENCE_LINKS.items()
                 if name_of_switch == switch.name), None)
    addresses = [line.split()[3] for line in host.cmd(
        f"ip -6 -o addr show dev {intf} scope global").splitlines() if "inet6" in line]
    return (f"{host.name} is on {switch.name} port {port}"
            f"{f' ({link})' if link else ''}: {', '.join(addresses) or 'no global address'}")


def _port_of(intf):
    """The port number Mininet gave ``intf`` on its node."""
    return intf.node.ports.get(intf, "?")


# ``mn --custom`` runs its CLI (and --pre/--post scripts) with the class named CLI.
CLI = RoamingCLI


class ListeningController(RemoteController):
    """A remote controller whose reachability check is a plain TCP connect. Mininet's
    own check runs telnet in its shell and decodes what comes back as UTF-8; an
    OpenFlow HELLO (a random transaction id) often is not, and the start fails."""

    def checkListening(self):
        try:
            socket.create_connection((self.ip, self.port), timeout=1).close()
        except OSError:
            warn(f"Unable to contact the remote controller at {self.ip}:{self.port}\n")


def start_network(topo, controller_port=6653, controller_ip="127.0.0.1",
                  optimistic_dad=True):
    """Build and start ``topo`` with a remote controller; return the Mininet.

    Switch-side IPv6 is turned off before the switches start and the hosts are
    configured (``optimistic_dad`` as in :func:`configure_host`); the network is
    stopped again if any step fails. Nodes of this module's classes do their part
    themselves (hosts when Mininet configures them, before the switches start); nodes
    of other classes get the same functions applied (switches before they start, hosts
    after). Addresses without ``nodad`` stay tentative for about a second (DAD) after
    this returns, unless optimistic.
    """
    net = Mininet(topo=topo, controller=None, build=False, autoSetMacs=False,
                  autoStaticArp=False)
    net.addController("c0", controller=ListeningController, ip=controller_ip,
                      port=controller_port)
    try:
        # net.build() for this set-up (no control network, xterms or static ARP), with
        # the DAD mode handed to the hosts before Mininet configures them.
        net.buildFromTopo(topo)
        for host in net.hosts:
            host.params["optimistic_dad"] = optimistic_dad
        net.configHosts()
        net.built = True
        for switch in net.switches:
            if not isinstance(switch, UserspaceSwitch):
                disable_ipv6(switch, switch.intfList())
        net.start()
        for host in net.hosts:
            if not isinstance(host, MobileIPv6Host):
                _configure_from_params(host, optimistic_dad)
    except BaseException:
        net.stop()
        raise
    return net
