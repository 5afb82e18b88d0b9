"""Configuration: the reference file, and one clear error naming the key for bad ones."""
import ipaddress
import pathlib
import subprocess
import sys

import pytest

from mipv6_sdn.config import (ConfigError, NetworkHandoverConfig, load_config, parse_config,
                              parse_dpid)

ROOT = pathlib.Path(__file__).parent.parent
REFERENCE = ROOT / "mininet_topos" / "roaming.toml"


def good():
    return {"controller": {"ra_interval": 10},
            "link": [{"name": "home", "dpid": 1, "prefix": "2001:db8:1::/64",
                      "home_agent": "2001:db8:1::1"},
                     {"name": "visit", "dpid": "0000000000000002",
                      "prefix": "2001:db8:a::/64", "ports": [1, 2]}]}


def test_reference_configuration_matches_the_address_plan():
    config = load_config(REFERENCE)
    plan = {(l.name, l.dpid, str(l.prefix), str(l.router)) for l in config.links}
    assert plan == {("home", 1, "2001:db8:1::/64", "2001:db8:1::1"),
                    ("visit-a", 2, "2001:db8:a::/64", "2001:db8:a::1"),
                    ("visit-b", 3, "2001:db8:b::/64", "2001:db8:b::1"),
                    ("corr", 4, "2001:db8:c::/64", "2001:db8:c::1")}
    assert [l.name for l in config.links if l.is_home_link] == ["home"]
    assert config.mtu == 1496 and config.router_mac == "02:00:00:00:00:01"
    assert len({l.label for l in config.links}) == 4


def test_defaults_follow_rfc_4861():
    config = parse_config(good())
    assert config.ra_min_interval == pytest.approx(3.3)
    assert config.links[0].router == ipaddress.IPv6Address("2001:db8:1::1")
    assert config.links[1].ports == frozenset({1, 2}) and config.links[1].dpid == 2


@pytest.mark.parametrize("value, dpid", [(5, 5), ("00000000000000ff", 255),
                                         ("00:00:00:00:00:00:01:00", 256)])
def test_dpid_formats(value, dpid):
    assert parse_dpid(value, "k") == dpid


def mutate(path, value):
    data = good()
    *parents, last = path
    node = data
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("path, value, message", [
    (("link", 0, "prefix"), KeyError, "link[0].prefix: missing"),
    (("link", 1, "dpid"), "switch-2", "link[1].dpid: unknown dpid format"),
    (("link", 1, "dpid"), 2.5, "link[1].dpid: expected int or str"),
    (("link", 1, "prefix"), "2001:db8:1:0:8000::/65", "link[1].prefix"),
    (("link", 1, "prefix"), "2001:db8:1::/64", "link[1].prefix: overlaps link[0].prefix"),
    (("link", 1, "dpid"), 1, "link[1].dpid: 1 already used by link[0]"),
    (("link", 0, "router"), "2001:db8:2::1", "link[0].router: 2001:db8:2::1 is not in"),
    (("link", 0, "home_agent"), "nonsense", "link[0].home_agent"),
    (("link", 0, "colour"), "red", "link[0].colour: unknown key"),
    (("link", 1, "ports"), [], "link[1].ports"),
    (("controller", "mtu"), 1000, "controller.mtu: 1000 out of range"),
    (("controller", "mtu"), "1500", "controller.mtu: expected int"),
    (("controller", "ra_interval"), 3600, "controller.ra_interval"),
    (("controller", "ra_solicited_delay"), 0.6, "controller.ra_solicited_delay: 0.6 out of range"),
    (("controller", "router_mac"), "01:00:00:00:00:01", "controller.router_mac"),
    (("link",), [], "link: missing"),
])
def test_bad_configuration_names_the_key(path, value, message):
    with pytest.raises(ConfigError) as error:
        parse_config(mutate(path, value))
    assert str(error.value).startswith(message)


def test_launcher_reports_a_bad_file_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[link]]\nname = "x"\ndpid = "zz"\nprefix = "2001:db8:1::/64"\n')
    result = subprocess.run([sys.executable, "-m", "mipv6_sdn.launcher", "--config", str(bad)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "mipv6-controller: configuration error: link[0].dpid: unknown dpid format 'zz' "
        "(use an integer, 16 hex digits, or 8 colon-separated hex bytes)"]


def test_launcher_reports_invalid_toml(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[link]\n")
    result = subprocess.run([sys.executable, "-m", "mipv6_sdn.launcher", "--config", str(bad)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "not valid TOML" in result.stderr


def test_reference_configuration_holds_mn1_security_association():
    config = load_config(REFERENCE)
    [mn1] = [node for node in config.mobile_nodes if node.spi == 256]
    assert len(config.mobile_nodes) == 4  # mn2..mn4 for several mobile nodes (docs/mininet.md)
    assert (str(mn1.home_address), mn1.spi) == ("2001:db8:1::100", 256)
    assert mn1.key == bytes.fromhex("000102030405060708090a0b0c0d0e0f10111213")
    assert mn1.key.hex() not in repr(config)
    assert config.home_agent.max_binding_lifetime == 420
    assert config.home_agent.require_authentication is True


def test_a_range_of_mobile_nodes_gets_derived_keys():
    data = good()
    data["mobile_node_range"] = [{"first_home_address": "2001:db8:1::1000", "count": 3,
                                  "first_spi": 4096, "secret": "ab" * 20}]
    nodes = parse_config(data).mobile_nodes
    assert [(str(n.home_address), n.spi) for n in nodes] == [
        ("2001:db8:1::1000", 4096), ("2001:db8:1::1001", 4097), ("2001:db8:1::1002", 4098)]
    assert len({n.key for n in nodes}) == 3


@pytest.mark.parametrize("node, message", [
    ({"home_address": "2001:db8:a::5", "spi": 256, "key": "00" * 20},
     "mobile_node: 2001:db8:a::5 is not in the prefix of a home link"),
    ({"home_address": "2001:db8:1::5", "spi": 7, "key": "00" * 20},
     "mobile_node[0].spi: 7 out of range"),
    ({"home_address": "2001:db8:1::5", "spi": 256, "key": "00"},
     "mobile_node[0].key: at least 16 octets"),
    ({"home_address": "2001:db8:1::5", "spi": 256, "key": "zz" * 20},
     "mobile_node[0].key: not a hexadecimal string"),
    ({"home_address": "2001:db8:1::5", "spi": 256}, "mobile_node[0].key: missing"),
])
def test_bad_mobile_node_names_the_key_without_showing_it(node, message):
    data = good()
    data["mobile_node"] = [node]
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert str(error.value).startswith(message)
    assert "00" * 20 not in str(error.value)


def test_home_agent_section_is_checked():
    data = good()
    data["home_agent"] = {"max_binding_lifetime": 1}
    with pytest.raises(ConfigError, match="home_agent.max_binding_lifetime"):
        parse_config(data)
    data["home_agent"] = {"require_authentication": 1}
    with pytest.raises(ConfigError, match="home_agent.require_authentication: expected bool"):
        parse_config(data)


def test_home_addresses_must_differ_in_their_low_56_bits():
    data = good()
    data["mobile_node"] = [
        {"home_address": "2001:db8:1::100", "spi": 256, "key": "00" * 20},
        {"home_address": "2001:db8:1:0:100::100", "spi": 257, "key": "00" * 20}]
    with pytest.raises(ConfigError, match="share their low 56 bits"):
        parse_config(data)


def test_reference_configuration_route_optimises_for_the_corr_link_in_rr_mode():
    policy = load_config(REFERENCE).route_optimisation
    assert [str(p) for p in policy.correspondents] == ["2001:db8:c::/64"]
    assert policy.mode.value == "rr"
    assert policy.serves(ipaddress.IPv6Address("2001:db8:c::10"))
    assert not policy.serves(ipaddress.IPv6Address("2001:db8:1::10"))
    # the mode is on a line of its own, for scripts that switch it
    assert 'mode = "rr"' in [line.split("#")[0].strip() for line in
                             REFERENCE.read_text().splitlines()]


@pytest.mark.parametrize("section,message", [
    ({"mode": "fast"}, 'route_optimisation.mode: \'fast\' is not one of "off"'),
    ({"correspondents": ["2001:db8:f::/64"]}, r"correspondents\[0\]: 2001:db8:f::/64 is "
                                              "not inside an access link"),
    ({"correspondents": ["nonsense"]}, r"correspondents\[0\]: "),
    ({"correspondents": ["2001:db8:1::/64"]}, r"correspondents\[0\]: .* holds the home "
                                              "address 2001:db8:1::100"),
    ({"idle_timeout": 0}, "route_optimisation.idle_timeout: out of range"),
    ({"max_bindings": 0}, "route_optimisation.max_bindings: at least 1"),
    ({"colour": "red"}, "route_optimisation.colour: unknown key"),
])
def test_route_optimisation_section_is_checked(section, message):
    data = good()
    data["mobile_node"] = [{"home_address": "2001:db8:1::100", "spi": 256, "key": "00" * 20}]
    data["route_optimisation"] = section
    with pytest.raises(ConfigError, match=message):
        parse_config(data)
    data["route_optimisation"] = {"correspondents": ["2001:db8:a::10/128"], "mode": "off"}
    assert not parse_config(data).route_optimisation.serves(
        ipaddress.IPv6Address("2001:db8:a::10"))  # control: a good section; off serves none


@pytest.mark.parametrize("section, table, message", [
    ("web", {"admin_token": "short"}, "web.admin_token: at least 16"),
    ("web", {"admin_token": "sixteen chars yes"}, "web.admin_token"),
    ("web", {"allowed_hosts": ["evil.example/path"]}, "web.allowed_hosts[0]"),
    ("web", {"listen": "0.0.0.0"}, "web.listen: unknown key"),
    ("network_handover", {"window": 0.01}, "network_handover.window: out of range"),
    ("network_handover", {"window": 30}, "network_handover.window: out of range"),
    ("network_handover", {"min_interval": -1},
     "network_handover.min_interval: out of range"),
    ("network_handover", {"enabled": "yes"}, "network_handover.enabled"),
    ("network_handover", {"window": 2, "min_interval": 1},
     "network_handover.min_interval: out of range window"),
    ("network_handover", {"delay": 1}, "network_handover.delay: unknown key"),
])
def test_bad_settings_name_the_key(section, table, message):
    data = good()
    data[section] = table
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert message in str(error.value)


def test_admin_actions_are_off_unless_a_token_is_configured():
    assert parse_config(good()).web.admin_token == ""
    data = good()
    data["web"] = {"admin_token": "0123456789abcdef", "allowed_hosts": ["Lab.Example:8080"]}
    web = parse_config(data).web
    assert web.admin_token == "0123456789abcdef" and web.allowed_hosts == ("lab.example:8080",)
    assert "0123456789abcdef" not in repr(web)


def test_network_triggered_handover_is_off_by_default_and_configurable():
    default = parse_config(good()).network_handover
    assert (default.enabled, default.window, default.min_interval) == (False, 0.5, 1.0)
    data = good()
    data["network_handover"] = {"enabled": True, "window": 2, "min_interval": 10}
    assert parse_config(data).network_handover == NetworkHandoverConfig(True, 2.0, 10.0)
