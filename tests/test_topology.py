"""Topologies as graphs: the reference network and generated access networks.

No root and no running Mininet: a Topo is a plain graph until Mininet builds it.
"""
import ipaddress
import pathlib
import tomllib

import pytest
from mininet.node import OVSSwitch

from mininet_topos import roaming
from mininet_topos.roaming import (HOSTS, LINKS, ROUTER_LL, AccessTopo, RoamingTopo,
                                   access_config_toml, access_plan)
from mipv6_sdn.config import parse_config

REFERENCE_CONFIG = pathlib.Path(__file__).parent.parent / "mininet_topos" / "roaming.toml"


def link_pairs(topo):
    return {frozenset(pair) for pair in topo.links()}


def assert_userspace_ofp13_switch(info, dpid):
    assert issubclass(info["cls"], OVSSwitch)
    assert info["dpid"] == f"{dpid:016x}"
    assert info["datapath"] == "user"
    assert info["protocols"] == "OpenFlow13"
    assert info["failMode"] == "secure"


def test_topos_exports_both_topologies_for_mn_custom():
    assert roaming.topos == {"roaming": RoamingTopo, "access": AccessTopo}


def test_roaming_switches_are_userspace_openflow13_with_reference_dpids():
    topo = RoamingTopo()
    assert topo.switches() == ["s1", "s2", "s3", "s4", "s5"]
    for dpid, name in enumerate(topo.switches(), start=1):
        assert_userspace_ofp13_switch(topo.nodeInfo(name), dpid)


def test_roaming_links_connect_access_switches_to_core_and_visited_links():
    expected = {("s1", "s5"), ("s2", "s5"), ("s3", "s5"), ("s4", "s5"), ("s2", "s3"),
                ("mn1", "s1"), ("hh1", "s1"), ("cn1", "s4")}
    assert link_pairs(RoamingTopo()) == {frozenset(pair) for pair in expected}


def test_roaming_hosts_have_reference_macs_and_addresses():
    topo = RoamingTopo()
    assert topo.hosts() == ["cn1", "hh1", "mn1"]
    expected = {"mn1": ("00:00:00:00:01:00", "2001:db8:1::100/64"),
                "hh1": ("00:00:00:00:00:10", "2001:db8:1::10/64"),
                "cn1": ("00:00:00:00:0c:10", "2001:db8:c::10/64")}
    for name, (mac, address) in expected.items():
        info = topo.nodeInfo(name)
        assert info["mac"] == mac
        assert info["ipv6_address"] == address
        assert info["ip"] is None


def test_roaming_only_mn1_is_a_mobile_node():
    topo = RoamingTopo()
    assert {name: topo.nodeInfo(name)["mobile"] for name in topo.hosts()} == {
        "mn1": True, "hh1": False, "cn1": False}


def test_roaming_hosts_take_the_first_ports_of_their_switch():
    topo = RoamingTopo()
    assert topo.port("mn1", "s1") == (0, 1)
    assert topo.port("hh1", "s1") == (0, 2)
    assert topo.port("cn1", "s4") == (0, 1)
    assert topo.port("s1", "s5") == (3, 1)


def test_roaming_constants_follow_the_reference_plan():
    assert LINKS == {"home": ("s1", "2001:db8:1::/64"),
                     "visit-a": ("s2", "2001:db8:a::/64"),
                     "visit-b": ("s3", "2001:db8:b::/64"),
                     "corr": ("s4", "2001:db8:c::/64")}
    assert ROUTER_LL == "fe80::1"
    assert {name: host["switch"] for name, host in HOSTS.items()} == {
        "mn1": "s1", "hh1": "s1", "cn1": "s4"}


def test_roaming_host_addresses_lie_in_their_links_prefix():
    prefix_of_switch = {switch: ipaddress.IPv6Network(prefix)
                        for switch, prefix in LINKS.values()}
    for host in HOSTS.values():
        interface = ipaddress.IPv6Interface(host["address"])
        assert interface.network == prefix_of_switch[host["switch"]]


def test_reference_config_matches_the_topology():
    with open(REFERENCE_CONFIG, "rb") as stream:
        config = parse_config(tomllib.load(stream))
    assert {link.name: (f"s{link.dpid}", str(link.prefix)) for link in config.links} == LINKS
    assert [link.name for link in config.links if link.is_home_link] == ["home"]


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
    topo = AccessTopo(n_links, hosts_per_link=2, mobile_nodes=3)
    plan = access_plan(n_links, 2, 3)
    assert topo.switches() == sorted(plan["switches"], key=lambda name: int(name[1:]))
    for name, dpid in plan["switches"].items():
        assert_userspace_ofp13_switch(topo.nodeInfo(name), dpid)
    assert sorted(topo.hosts()) == sorted(plan["hosts"])
    for name, host in plan["hosts"].items():
        info = topo.nodeInfo(name)
        assert (info["mac"], info["ipv6_address"]) == (host["mac"], host["address"])
        assert info["mobile"] == (name in plan["mobile_nodes"])
    expected = {frozenset(pair) for pair in plan["switch_links"]}
    expected |= {frozenset((name, host["switch"])) for name, host in plan["hosts"].items()}
    assert link_pairs(topo) == expected


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
