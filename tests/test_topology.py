"""Topologies as graphs, their node classes, and the module as ``mn --custom`` sees it.

No root and no running Mininet: a Topo is a plain graph until Mininet builds it, and
node classes are exercised on instances that run no shell (commands are recorded).
"""
import io
import ipaddress
import pathlib
import runpy
import tomllib

import pytest
from mininet.link import OVSLink
from mininet.node import Host, OVSSwitch, Switch

from mininet_topos import roaming
from mininet_topos.roaming import (REFERENCE_HOSTS, REFERENCE_LINKS, ROUTER_LL, AccessTopo,
                                   MobileIPv6Host, RadioHub, RoamingCLI, RoamingTopo,
                                   UserspaceSwitch,
                                   access_config_toml, access_plan)
from mipv6_sdn.config import parse_config

REFERENCE_CONFIG = pathlib.Path(__file__).parent.parent / "mininet_topos" / "roaming.toml"
ROAMING_PY = pathlib.Path(roaming.__file__)
MN_SCRIPT = pathlib.Path("/usr/bin/mn")


def link_pairs(topo):
    return {frozenset(pair) for pair in topo.links()}


def assert_userspace_ofp13_switch(info, dpid):
    """A UserspaceSwitch (datapath, protocols and fail mode are its defaults)."""
    assert info["cls"] is UserspaceSwitch
    assert info["dpid"] == f"{dpid:016x}"
    assert not {"datapath", "protocols", "failMode"} & set(info)


def test_topos_exports_both_topologies_for_mn_custom():
    assert roaming.topos == {"roaming": RoamingTopo, "access": AccessTopo}


def test_roaming_switches_are_userspace_openflow13_with_reference_dpids():
    topo = RoamingTopo(radio=False)
    assert topo.switches() == ["s1", "s2", "s3", "s4", "s5"]
    for dpid, name in enumerate(topo.switches(), start=1):
        assert_userspace_ofp13_switch(topo.nodeInfo(name), dpid)


def test_roaming_links_connect_access_switches_to_core_and_visited_links():
    expected = {("s1", "s5"), ("s2", "s5"), ("s3", "s5"), ("s4", "s5"), ("s2", "s3"),
                ("mn1", "s1"), ("hh1", "s1"), ("cn1", "s4")}
    assert link_pairs(RoamingTopo(radio=False)) == {frozenset(pair) for pair in expected}


def test_by_default_mn1_reaches_every_access_switch_through_its_radio_hub():
    topo = RoamingTopo()
    assert topo.switches() == ["hub1", "s1", "s2", "s3", "s4", "s5"]
    hub = topo.nodeInfo("hub1")
    assert hub["cls"] is RadioHub and hub["active"] == "s1"
    assert int(hub["dpid"], 16) not in range(1, 6)
    expected = {("s1", "s5"), ("s2", "s5"), ("s3", "s5"), ("s4", "s5"), ("s2", "s3"),
                ("mn1", "hub1"), ("hub1", "s1"), ("hub1", "s2"), ("hub1", "s3"),
                ("hub1", "s4"), ("hh1", "s1"), ("cn1", "s4")}
    assert link_pairs(topo) == {frozenset(pair) for pair in expected}
    patches = {frozenset((info["node1"], info["node2"])) for _, _, info in
               topo.links(withInfo=True) if info.get("cls") is OVSLink}
    assert patches == {frozenset(("hub1", s)) for s in ("s1", "s2", "s3", "s4")}
    # the host is on the hub's port 1; the patch to its first switch takes the port its
    # own link had, the others come after the stationary hosts'
    assert topo.port("mn1", "hub1") == (0, 1)
    assert topo.port("hub1", "s1")[1] == 1 and topo.port("hh1", "s1") == (0, 2)
    assert topo.port("cn1", "s4") == (0, 1) and topo.port("hub1", "s4")[1] == 2
    assert topo.port("s1", "s5") == (3, 1)


def test_roaming_hosts_have_reference_macs_and_addresses():
    topo = RoamingTopo()
    assert topo.hosts() == ["cn1", "hh1", "mn1"]
    expected = {"mn1": ("00:00:00:00:01:00", "2001:db8:1::100/64"),
                "hh1": ("00:00:00:00:00:10", "2001:db8:1::10/64"),
                "cn1": ("00:00:00:00:0c:10", "2001:db8:c::10/64")}
    for name, (mac, address) in expected.items():
        info = topo.nodeInfo(name)
        assert info["cls"] is MobileIPv6Host
        assert info["mac"] == mac
        assert info["ipv6_address"] == address
        assert info["ip"] is None


def test_roaming_only_mn1_is_a_mobile_node():
    topo = RoamingTopo()
    assert {name: topo.nodeInfo(name)["mobile"] for name in topo.hosts()} == {
        "mn1": True, "hh1": False, "cn1": False}


def test_roaming_hosts_take_the_first_ports_of_their_switch():
    topo = RoamingTopo(radio=False)
    assert topo.port("mn1", "s1") == (0, 1)
    assert topo.port("hh1", "s1") == (0, 2)
    assert topo.port("cn1", "s4") == (0, 1)
    assert topo.port("s1", "s5") == (3, 1)


def test_roaming_constants_follow_the_reference_plan():
    assert REFERENCE_LINKS == {"home": ("s1", "2001:db8:1::/64"),
                     "visit-a": ("s2", "2001:db8:a::/64"),
                     "visit-b": ("s3", "2001:db8:b::/64"),
                     "corr": ("s4", "2001:db8:c::/64")}
    assert ROUTER_LL == "fe80::1"
    assert {name: host["switch"] for name, host in REFERENCE_HOSTS.items()} == {
        "mn1": "s1", "hh1": "s1", "cn1": "s4"}


def test_roaming_host_addresses_lie_in_their_links_prefix():
    prefix_of_switch = {switch: ipaddress.IPv6Network(prefix)
                        for switch, prefix in REFERENCE_LINKS.values()}
    for host in REFERENCE_HOSTS.values():
        interface = ipaddress.IPv6Interface(host["address"])
        assert interface.network == prefix_of_switch[host["switch"]]


def test_reference_config_matches_the_topology():
    with open(REFERENCE_CONFIG, "rb") as stream:
        config = parse_config(tomllib.load(stream))
    assert {link.name: (f"s{link.dpid}", str(link.prefix))
            for link in config.links} == REFERENCE_LINKS
    assert [link.name for link in config.links if link.is_home_link] == ["home"]



def test_reference_config_holds_the_keys_of_every_mobile_node_the_topology_offers():
    with open(REFERENCE_CONFIG, "rb") as stream:
        config = parse_config(tomllib.load(stream))
    nodes = {str(node.home_address): (node.spi, node.key.hex()) for node in config.mobile_nodes}
    topo = RoamingTopo(mobile_nodes=roaming.MAX_REFERENCE_MOBILE_NODES)
    for name in [h for h in topo.hosts() if topo.nodeInfo(h)["mobile"]]:
        agent = topo.nodeInfo(name)["agent"]
        assert nodes[agent["home_address"].split("/")[0]] == (agent["spi"], agent["key"])
    assert len(nodes) == roaming.MAX_REFERENCE_MOBILE_NODES


def test_several_mobile_nodes_start_at_home_after_the_reference_hosts():
    topo = RoamingTopo(mobile_nodes=3)
    assert [h for h in topo.hosts(sort=False)] == ["mn1", "hh1", "cn1", "mn2", "mn3"]
    assert topo.nodeInfo("mn3")["mac"] == "00:00:00:00:01:02"
    assert topo.nodeInfo("mn3")["ipv6_address"] == "2001:db8:1::102/64"
    assert frozenset(("mn3", "hub3")) in link_pairs(topo)
    assert topo.nodeInfo("hub3")["active"] == "s1"
    with pytest.raises(ValueError):
        RoamingTopo(mobile_nodes=5)


def test_agents_can_be_turned_off_and_only_mobile_nodes_get_one():
    assert RoamingTopo().nodeInfo("mn1")["agent"]["spi"] == 256
    assert RoamingTopo().nodeInfo("hh1")["agent"] is None
    assert RoamingTopo(agents=False).nodeInfo("mn1")["agent"] is None
    assert AccessTopo(n_links=4, mobile_nodes=2).nodeInfo("mn2")["agent"]["spi"] == 257


def test_generated_configurations_hold_their_mobile_nodes_keys():
    plan = access_plan(4, mobile_nodes=3)
    config = parse_config(tomllib.loads(access_config_toml(plan)))
    topo = AccessTopo(n_links=4, mobile_nodes=3)
    assert {str(n.home_address): n.spi for n in config.mobile_nodes} == {
        topo.nodeInfo(name)["agent"]["home_address"].split("/")[0]:
        topo.nodeInfo(name)["agent"]["spi"] for name in plan["mobile_nodes"]}


@pytest.mark.parametrize("n_links", [4, 16])
def test_access_plan_has_n_access_switches_and_one_core(n_links):
    plan = access_plan(n_links)
    core = f"s{n_links + 1}"
    assert plan["core"] == core
    assert plan["switches"] == {f"s{i}": i for i in range(1, n_links + 2)}
    assert [link["switch"] for link in plan["links"]] == [f"s{i}" for i in
                                                          range(1, n_links + 1)]
    assert sorted(plan["switch_links"]) == sorted((f"s{i}", core)
                                                  for i in range(1, n_links + 1))


@pytest.mark.parametrize("n_links", [4, 16])
def test_access_plan_prefixes_are_unique_documentation_64s(n_links):
    prefixes = [ipaddress.IPv6Network(link["prefix"]) for link in access_plan(n_links)["links"]]
    assert len(set(prefixes)) == n_links
    for prefix in prefixes:
        assert prefix.prefixlen == 64
        assert prefix.subnet_of(ipaddress.IPv6Network("2001:db8::/32"))


def test_access_plan_numbers_prefixes_in_hex():
    links = access_plan(16)["links"]
    assert links[0]["prefix"] == "2001:db8:1::/64"
    assert links[9]["prefix"] == "2001:db8:a::/64"
    assert links[15]["prefix"] == "2001:db8:10::/64"
    assert links[15]["router"] == "2001:db8:10::1"


@pytest.mark.parametrize("n_links,hosts_per_link,mobile_nodes", [(4, 1, 1), (16, 3, 20)])
def test_access_plan_hosts_have_unique_macs_and_addresses_on_their_link(
        n_links, hosts_per_link, mobile_nodes):
    plan = access_plan(n_links, hosts_per_link, mobile_nodes)
    hosts = plan["hosts"]
    assert len(hosts) == n_links * hosts_per_link + mobile_nodes
    macs = [host["mac"] for host in hosts.values()]
    assert len(set(macs)) == len(macs)
    assert all(int(mac[:2], 16) & 1 == 0 for mac in macs)
    addresses = [host["address"] for host in hosts.values()]
    assert len(set(addresses)) == len(addresses)
    prefix_of_switch = {link["switch"]: ipaddress.IPv6Network(link["prefix"])
                        for link in plan["links"]}
    routers = {ipaddress.IPv6Address(link["router"]) for link in plan["links"]}
    for host in hosts.values():
        interface = ipaddress.IPv6Interface(host["address"])
        assert interface.network == prefix_of_switch[host["switch"]]
        assert interface.ip not in routers


def test_access_plan_mobile_nodes_start_on_the_home_link():
    plan = access_plan(4, hosts_per_link=1, mobile_nodes=2)
    assert plan["mobile_nodes"] == ["mn1", "mn2"]
    assert plan["hosts"]["mn1"] == {"mac": "00:00:00:01:01:00", "switch": "s1",
                                    "address": "2001:db8:1::100/64"}
    assert plan["hosts"]["mn2"]["address"] == "2001:db8:1::101/64"
    assert plan["hosts"]["h3_1"] == {"mac": "00:00:00:03:00:10", "switch": "s3",
                                     "address": "2001:db8:3::10/64"}
    home = [link for link in plan["links"] if link["home_agent"]]
    assert home == [{"name": "link1", "switch": "s1", "dpid": 1,
                     "prefix": "2001:db8:1::/64", "router": "2001:db8:1::1",
                     "home_agent": "2001:db8:1::1"}]


@pytest.mark.parametrize("kwargs", [{"n_links": 0}, {"n_links": 0x10000},
                                    {"hosts_per_link": -1}, {"hosts_per_link": 0xf1},
                                    {"mobile_nodes": -1}, {"mobile_nodes": 0xff01}])
def test_access_plan_rejects_sizes_its_address_plan_cannot_hold(kwargs):
    with pytest.raises(ValueError):
        access_plan(**kwargs)


@pytest.mark.parametrize("n_links", [4, 16])
def test_access_topo_builds_its_plan(n_links):
    topo = AccessTopo(n_links, hosts_per_link=2, mobile_nodes=3, radio=False)
    plan = access_plan(n_links, 2, 3)
    assert topo.switches() == sorted(plan["switches"], key=lambda name: int(name[1:]))
    for name, dpid in plan["switches"].items():
        assert_userspace_ofp13_switch(topo.nodeInfo(name), dpid)
    assert sorted(topo.hosts()) == sorted(plan["hosts"])
    for name, host in plan["hosts"].items():
        info = topo.nodeInfo(name)
        assert info["cls"] is MobileIPv6Host
        assert (info["mac"], info["ipv6_address"]) == (host["mac"], host["address"])
        assert info["mobile"] == (name in plan["mobile_nodes"])
    expected = {frozenset(pair) for pair in plan["switch_links"]}
    expected |= {frozenset((name, host["switch"])) for name, host in plan["hosts"].items()}
    assert link_pairs(topo) == expected


def test_access_topo_gives_each_mobile_node_a_hub_patched_to_every_access_switch():
    topo = AccessTopo(8, hosts_per_link=1, mobile_nodes=2)
    assert [s for s in topo.switches() if s.startswith("hub")] == ["hub1", "hub2"]
    for j in (1, 2):
        assert {frozenset(pair) for pair in topo.links() if f"hub{j}" in pair} == \
            {frozenset((f"mn{j}", f"hub{j}"))} | {frozenset((f"hub{j}", f"s{i}"))
                                                  for i in range(1, 9)}


def test_access_topo_of_four_links_numbers_switches_like_the_reference():
    assert access_plan(4)["switches"] == {"s1": 1, "s2": 2, "s3": 3, "s4": 4, "s5": 5}


@pytest.mark.parametrize("n_links", [4, 16])
def test_access_config_toml_lists_every_access_link_and_no_core(n_links):
    plan = access_plan(n_links)
    data = tomllib.loads(access_config_toml(plan))
    assert data["controller"] == {"ra_interval": 10, "mtu": 1496}
    expected = []
    for link in plan["links"]:
        table = {"name": link["name"], "dpid": link["dpid"], "prefix": link["prefix"],
                 "router": link["router"]}
        if link["switch"] == "s1":
            table["home_agent"] = "2001:db8:1::1"
        expected.append(table)
    assert data["link"] == expected
    assert plan["switches"][plan["core"]] not in [link["dpid"] for link in data["link"]]


@pytest.mark.parametrize("n_links", [4, 16])
def test_access_config_toml_is_accepted_by_the_controller(n_links):
    config = parse_config(tomllib.loads(access_config_toml(access_plan(n_links))))
    assert [link.dpid for link in config.links] == list(range(1, n_links + 1))
    assert [link.name for link in config.links if link.is_home_link] == ["link1"]


# ------------------------------------------------------------------ node classes
#
# Instances are made without Node.__init__ (which starts a shell and needs root);
# every command they would run is recorded by a fake pexec instead.

class Recorder:
    def __init__(self):
        self.commands = []

    def pexec(self, *args):
        self.commands.append(list(args))
        return "", "", 0


def fake_node(cls, name, intfs=(), params=None, recorder=None):
    node = object.__new__(cls)
    node.name = name
    node.params = dict(params or {})
    node.intfList = lambda: list(intfs)
    node.defaultIntf = lambda: intfs[0] if intfs else None
    node.pexec = (recorder or Recorder()).pexec
    return node


def host_commands(sysctls, intf, address, dad_flag):
    """What configure_host must run for a host, in order (literal expectations)."""
    return [["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0", *sysctls],
            ["ethtool", "-K", intf, "tx", "off", "tso", "off", "gso", "off"],
            ["ip", "-4", "addr", "flush", "dev", intf],
            ["ip", "-6", "addr", "replace", address, "dev", intf, *dad_flag],
            ["ip", "-6", "route", "replace", "default", "via", "fe80::1", "dev", intf,
             "metric", "2048"]]


MN1_BASE = ["net.ipv6.conf.mn1-eth0.disable_ipv6=0", "net.ipv6.conf.mn1-eth0.accept_ra=1",
            "net.ipv6.conf.mn1-eth0.autoconf=1"]
MN1_OPTIMISTIC = host_commands(
    MN1_BASE + ["net.ipv6.conf.mn1-eth0.optimistic_dad=1",
                "net.ipv6.conf.mn1-eth0.use_optimistic=1"],
    "mn1-eth0", "2001:db8:1::100/64", ["optimistic"])
MN1_ORDINARY_DAD = host_commands(
    MN1_BASE + ["net.ipv6.conf.mn1-eth0.optimistic_dad=0",
                "net.ipv6.conf.mn1-eth0.use_optimistic=0"],
    "mn1-eth0", "2001:db8:1::100/64", [])
CN1 = host_commands(
    ["net.ipv6.conf.cn1-eth0.disable_ipv6=0", "net.ipv6.conf.cn1-eth0.accept_ra=1",
     "net.ipv6.conf.cn1-eth0.autoconf=1"], "cn1-eth0", "2001:db8:c::10/64", ["nodad"])


@pytest.fixture
def mininet_config(monkeypatch):
    """Calls of Mininet's own Host.config (MAC and IPv4 set-up), without a shell."""
    calls = []

    def config(self, **params):
        calls.append((self.name, params))
        return {}
    monkeypatch.setattr(Host, "config", config)
    return calls


def test_mobile_node_configures_optimistic_dad_offload_address_and_route(mininet_config):
    recorder = Recorder()
    host = fake_node(MobileIPv6Host, "mn1", ["mn1-eth0"], recorder=recorder)
    host.config(mac="00:00:00:00:01:00", ip=None, ipv6_address="2001:db8:1::100/64",
                mobile=True)
    assert recorder.commands == MN1_OPTIMISTIC
    assert mininet_config == [("mn1", {"mac": "00:00:00:00:01:00", "ip": None})]


def test_mobile_node_keeps_ordinary_dad_when_told(mininet_config):
    recorder = Recorder()
    host = fake_node(MobileIPv6Host, "mn1", ["mn1-eth0"], recorder=recorder)
    host.config(ipv6_address="2001:db8:1::100/64", mobile=True, optimistic_dad=False)
    assert recorder.commands == MN1_ORDINARY_DAD


def test_stationary_host_skips_dad_and_sets_no_optimistic_sysctls(mininet_config):
    recorder = Recorder()
    params = {"ipv6_address": "2001:db8:c::10/64", "mobile": False}
    host = fake_node(MobileIPv6Host, "cn1", ["cn1-eth0"], recorder=recorder, params=params)
    host.config(**params)
    assert recorder.commands == CN1


def test_host_without_a_link_is_left_to_mininet(mininet_config):
    recorder = Recorder()
    fake_node(MobileIPv6Host, "h1", recorder=recorder).config(ip=None, mac=None)
    assert recorder.commands == [] and len(mininet_config) == 1


def test_configure_hosts_applies_the_per_host_set_up_to_every_host():
    recorder = Recorder()
    hosts = [fake_node(Host, "mn1", ["mn1-eth0"], recorder=recorder,
                       params={"ipv6_address": "2001:db8:1::100/64", "mobile": True}),
             fake_node(Host, "cn1", ["cn1-eth0"], recorder=recorder,
                       params={"ipv6_address": "2001:db8:c::10/64"})]
    roaming.configure_hosts(type("Net", (), {"hosts": hosts}), optimistic_dad=False)
    assert recorder.commands == MN1_ORDINARY_DAD + CN1


@pytest.fixture
def no_switch_shell(monkeypatch):
    """Switch.__init__ without a shell: keep the name and the parameters."""
    def init(self, name, **params):
        self.name, self.params = name, params
    monkeypatch.setattr(Switch, "__init__", init)


def test_userspace_switch_defaults_to_userspace_openflow13_fail_secure(no_switch_shell):
    switch = UserspaceSwitch("s1", dpid="0000000000000001")
    assert (switch.datapath, switch.protocols, switch.failMode) == (
        "user", "OpenFlow13", "secure")
    assert switch.params == {"dpid": "0000000000000001"}
    assert UserspaceSwitch("s2", datapath="kernel").datapath == "kernel"


def test_userspace_switch_turns_ipv6_off_on_its_interfaces_before_starting(monkeypatch):
    events = []
    switch = fake_node(UserspaceSwitch, "s1", ["lo", "s1-eth1", "s1-eth2"])
    switch.pexec = lambda *args: events.append(list(args)) or ("", "", 0)
    monkeypatch.setattr(OVSSwitch, "start",
                        lambda self, controllers: events.append(("start", controllers)))
    switch.start(["c0"])
    assert events == [["sysctl", "-q", "-w", "net.ipv6.conf.s1-eth1.disable_ipv6=1",
                       "net.ipv6.conf.s1-eth2.disable_ipv6=1"],
                      ("start", ["c0"])]


def test_userspace_switch_turns_ipv6_off_on_an_interface_before_attaching_it(monkeypatch):
    events = []
    switch = fake_node(UserspaceSwitch, "s2")
    switch.pexec = lambda *args: events.append(list(args)) or ("", "", 0)
    monkeypatch.setattr(OVSSwitch, "attach",
                        lambda self, intf: events.append(("attach", intf)))
    switch.attach("s2-eth4")
    assert events == [["sysctl", "-q", "-w", "net.ipv6.conf.s2-eth4.disable_ipv6=1"],
                      ("attach", "s2-eth4")]




def test_failing_command_raises_with_the_node_and_the_error():
    host = fake_node(MobileIPv6Host, "mn1", ["mn1-eth0"])
    host.pexec = lambda *args: ("", "sysctl: permission denied\n", 255)
    with pytest.raises(RuntimeError, match=r"mn1: sysctl .*exit 255.*permission denied"):
        roaming.configure_host(host)


# ------------------------------------------------------------------ start_network

class FakeMininet:
    """Records what start_network asks of Mininet; nodes are given by the test."""

    def __init__(self, nodes, fail_on=None):
        self.nodes, self.fail_on, self.events = nodes, fail_on, []
        self.hosts, self.switches, self.built = [], [], False

    def __call__(self, topo, **kwargs):
        self.events.append(("Mininet", topo, kwargs))
        return self

    def _step(self, name):
        self.events.append(name)
        if name == self.fail_on:
            raise RuntimeError(name)

    def addController(self, name, **kwargs):
        self.events.append(("addController", name, kwargs["ip"], kwargs["port"]))

    def buildFromTopo(self, topo):
        self.hosts, self.switches = self.nodes
        self._step("buildFromTopo")

    def configHosts(self):
        self.events.append(("configHosts", {h.name: h.params.get("optimistic_dad")
                                            for h in self.hosts}))

    def start(self):
        assert self.built
        self._step("start")

    def stop(self):
        self.events.append("stop")


@pytest.fixture
def network_steps(monkeypatch):
    steps = []
    monkeypatch.setattr(roaming, "configure_host",
                        lambda host, ipv6_address, mobile, optimistic_dad: steps.append(
                            ("configure_host", host.name, ipv6_address, mobile,
                             optimistic_dad)))
    monkeypatch.setattr(roaming, "disable_ipv6",
                        lambda switch, intfs: steps.append(("disable_ipv6", switch.name)))
    hosts = [fake_node(MobileIPv6Host, "mn1", ["mn1-eth0"]),
             fake_node(Host, "h9", ["h9-eth0"],
                       params={"ipv6_address": "2001:db8:9::9/64"})]
    switches = [fake_node(UserspaceSwitch, "s1", ["s1-eth1"]),
                fake_node(OVSSwitch, "s9", ["s9-eth1"])]
    return steps, (hosts, switches)


def test_start_network_hands_the_dad_mode_to_hosts_and_configures_foreign_nodes(
        monkeypatch, network_steps):
    steps, nodes = network_steps
    fake = FakeMininet(nodes)
    monkeypatch.setattr(roaming, "Mininet", fake)
    topo = RoamingTopo()
    assert roaming.start_network(topo, 16653, "127.0.0.2", optimistic_dad=False) is fake
    assert fake.events == [
        ("Mininet", topo, {"controller": None, "build": False, "autoSetMacs": False,
                           "autoStaticArp": False}),
        ("addController", "c0", "127.0.0.2", 16653),
        "buildFromTopo",
        ("configHosts", {"mn1": False, "h9": False}),
        "start"]
    # Project nodes configure themselves (in configHosts and in their start), so only
    # the plain OVSSwitch and the plain Host get the module's functions applied.
    assert steps == [("disable_ipv6", "s9"),
                     ("configure_host", "h9", "2001:db8:9::9/64", False, False)]


@pytest.mark.parametrize("failing_step", ["buildFromTopo", "start"])
def test_start_network_stops_the_network_when_a_step_fails(monkeypatch, network_steps,
                                                           failing_step):
    fake = FakeMininet(network_steps[1], fail_on=failing_step)
    monkeypatch.setattr(roaming, "Mininet", fake)
    with pytest.raises(RuntimeError, match=failing_step):
        roaming.start_network(RoamingTopo())
    assert fake.events[-2:] == [failing_step, "stop"]


# ------------------------------------------------------------------ mn --custom

def test_node_classes_and_cli_are_exported_for_mn_custom():
    assert roaming.switches == {"userspace": UserspaceSwitch}
    assert roaming.hosts == {"mipv6": MobileIPv6Host}
    assert roaming.CLI is RoamingCLI


class FakeCLINet:
    """What the CLI commands read of a Mininet: hosts, switches, names."""

    def __init__(self, hosts, switches):
        self.hosts, self.switches = hosts, switches
        self.nameToNode = {node.name: node for node in hosts + switches}


class Named:
    def __init__(self, name):
        self.name = name


@pytest.mark.parametrize("line, says", [
    ("", "usage: move HOST SWITCH"), ("mn1", "usage: move HOST SWITCH"),
    ("mn9 s2", "move: no host 'mn9' (hosts: mn1)"),
    ("mn1 s9", "move: no switch 's9' (switches: s2)"),
    ("s2 mn1", "move: no host 's2'"),
])
def test_the_move_command_says_what_is_wrong_in_one_line(line, says):
    cli = object.__new__(RoamingCLI)
    cli.mn, cli.stdout = FakeCLINet([Named("mn1")], [Named("s2")]), io.StringIO()
    cli.do_move(line)
    assert cli.stdout.getvalue().startswith(says) and cli.stdout.getvalue().count("\n") == 1


def test_cli_offers_move_host_to_py():
    cli = object.__new__(RoamingCLI)
    cli.locals, cli.mn = {"net": "the network"}, {"mn1": "host mn1"}
    assert cli.getLocals() == {"net": "the network", "mn1": "host mn1",
                               "move_host": roaming.move_host}


@pytest.fixture
def mn_after_custom():
    """The globals of the mn script after it has read --custom roaming.py (not run)."""
    assert MN_SCRIPT.exists(), "Debian's mininet package provides /usr/bin/mn"
    runner = runpy.run_path(str(MN_SCRIPT), run_name="mn_under_test")["MininetRunner"]
    mn_globals = runner.setCustom.__globals__
    before = dict(mn_globals)
    parser = object.__new__(runner)
    parser.validate = None
    parser.custom(None, "--custom", str(ROAMING_PY), None)
    return before, mn_globals


def test_mn_custom_replaces_none_of_mns_globals_but_its_cli(mn_after_custom):
    before, after = mn_after_custom
    replaced = {name for name, value in before.items()
                if not name.startswith("__") and after[name] is not value}
    assert replaced == {"CLI"}
    assert after["CLI"].__name__ == "RoamingCLI"


def test_mn_custom_resolves_the_topologies_and_node_options(mn_after_custom):
    _, mn = mn_after_custom
    custom_class, build_topo = mn["customClass"], mn["buildTopo"]
    ovs = custom_class(mn["SWITCHES"], "ovs,datapath=user,protocols=OpenFlow13")
    assert issubclass(ovs, OVSSwitch)
    assert custom_class(mn["SWITCHES"], "userspace").__name__ == "UserspaceSwitch"
    assert custom_class(mn["HOSTS"], "mipv6").__name__ == "MobileIPv6Host"
    assert custom_class(mn["HOSTS"], "proc") is Host
    assert custom_class(mn["LINKS"], "default").__name__ == "Link"
    topo = build_topo(mn["TOPOS"], "roaming")
    assert topo.switches() == ["hub1", "s1", "s2", "s3", "s4", "s5"]
    assert topo.nodeInfo("s1")["cls"].__name__ == "UserspaceSwitch"
    assert topo.nodeInfo("hub1")["cls"].__name__ == "RadioHub"
    assert build_topo(mn["TOPOS"], "roaming,radio=False").switches() == \
        ["s1", "s2", "s3", "s4", "s5"]
    assert build_topo(mn["TOPOS"], "roaming,agents=False").nodeInfo("mn1")["agent"] is None
    with pytest.raises(ValueError):
        build_topo(mn["TOPOS"], "roaming,radio=maybe")
    assert topo.nodeInfo("mn1")["cls"].__name__ == "MobileIPv6Host"
    assert len(build_topo(mn["TOPOS"], "access,8,2,3").hosts()) == 8 * 2 + 3
