"""The Home Agent against the real controller on the reference network (root).

mn1 is moved to visit-a; Binding Updates crafted with Scapy (tests/mipv6_frames.py, not
our codec) are sent from it, and its interface is captured and decoded with tshark.
"""
import json
import pathlib
import subprocess

import pytest

from mininet_topos import harness, roaming

pytestmark = pytest.mark.integration
FRAMES = pathlib.Path(__file__).parent / "mipv6_frames.py"


@pytest.fixture(scope="module")
def away(tmp_path_factory):
    """The network with mn1 on visit-a, its care-of address, and a capture directory."""
    config = harness.config_with(harness.REFERENCE_CONFIG, ra_interval=60)
    log = tmp_path_factory.mktemp("controller") / "controller.log"
    with harness.reference_network(config, of_port=harness.free_port(),
                                   rest_port=harness.free_port(), log_path=log) as (net, ctl):
        mn1 = net.get("mn1")
        roaming.move_host(net, "mn1", "s2")
        care_of = harness.wait_for(lambda: harness.addresses(mn1, "2001:db8:a:"), 10,
                                   "mn1's care-of address")[0]
        # mn1 runs no Mobile IPv6 stack: its kernel must not answer BAs itself.
        yield net, ctl, mn1, care_of, tmp_path_factory.mktemp("captures")


def exchange(away, name, *sends, expect):
    """Capture on mn1 while it sends ``sends`` (argument lists for mipv6_frames.py);
    return tshark's decoding of the mobility and ICMPv6 packets it then receives."""
    net, _, mn1, care_of, captures = away
    pcap = captures / f"{name}.pcap"
    intf = mn1.defaultIntf().name
    capture = mn1.popen(["tshark", "-q", "-i", intf, "-w", str(pcap), "-f", "ip6"],
                        stderr=subprocess.PIPE)
    try:
        harness.wait_for(lambda: pcap.exists() and pcap.stat().st_size > 0, 10,
                         "tshark to start")
        stamps = [mn1.cmd(f"{harness.LAUNCHER.parent / 'python'} {FRAMES} {args[0]} {intf} "
                          f"{care_of} {' '.join(map(str, args[1:]))}").strip()
                  for args in sends]

        def received():
            # Inbound only: mn1's kernel answers each BA's type 2 routing header with a
            # Parameter Problem that quotes the BA (and so its destination) itself.
            packets = decode(pcap, f"eth.dst == {mn1.MAC()} and ipv6.dst == {care_of} "
                                   "and (mipv6 or icmpv6.type == 4)")
            return packets if len(packets) >= expect else None
        return harness.wait_for(received, 10, f"{expect} answers to mn1"), stamps
    finally:
        capture.terminate()
        capture.wait(10)


def decode(pcap, display_filter):
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", display_filter, "-T", "json",
                          "--no-duplicate-keys"], capture_output=True, text=True).stdout
    return [packet["_source"]["layers"] for packet in json.loads(out or "[]")]


def field(layers, name):
    """The first value of tshark field ``name`` anywhere in a decoded packet, or None."""
    stack = [layers]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if name in node:
                return node[name]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def bindings(away):
    return {b["home_address"]: b for b in away[1].view("bindings")}


def test_authentic_binding_update_is_acknowledged_and_bound(away):
    [ba], _ = exchange(away, "accept", ("bu", 10, 60, "now"), expect=1)
    assert field(ba, "mip6.ba.status") == "0"
    assert field(ba, "mip6.ba.seqnr") == "10"
    assert field(ba, "mip6.ba.lifetime") == "15"
    assert "_ws.malformed" not in json.dumps(ba)
    entry = bindings(away)["2001:db8:1::100"]
    assert entry["care_of_address"] == away[3] and entry["sequence"] == 10


def test_failed_authentication_and_a_replay_change_nothing(away):
    before = bindings(away)
    answers, _ = exchange(away, "refused", ("badkey", 11, 60, "now"), expect=1)
    assert [field(a, "mip6.ba.status") for a in answers] == ["146"]
    [_], [stamp] = exchange(away, "original", ("bu", 12, 60, "now"), expect=1)
    after_original = bindings(away)
    replays, _ = exchange(away, "replay", ("bu", 13, 60, stamp), expect=1)
    assert [field(a, "mip6.ba.status") for a in replays] == ["144"]
    assert bindings(away) == after_original != before


def test_malformed_mobility_headers_get_the_rfc_replies(away):
    before = bindings(away)
    answers, _ = exchange(away, "malformed", ("unknown-type", 0, 0, "now"),
                          ("bad-proto", 20, 60, "now"), expect=2)
    kinds = sorted((field(a, "mip6.be.status") or "", field(a, "icmpv6.pointer") or "")
                   for a in answers)
    assert kinds == [("", "40"), ("2", "")]
    assert bindings(away) == before




def test_traffic_to_the_home_address_follows_the_binding_and_leaves_no_rule(away):
    net, _, mn1, care_of, _ = away
    intf = mn1.defaultIntf().name
    home = harness.host_address("mn1")
    # What the mobile-node agent does while away: the home address as a /128, and the
    # home prefix no longer on-link (SLAAC gave mn1 a second address in it at home).
    mn1.cmd(f"ip -6 addr flush dev {intf} to 2001:db8:1::/64; "
            f"ip -6 route del 2001:db8:1::/64 dev {intf}; "
            f"ip -6 addr add {home}/128 dev {intf} nodad noprefixroute")
    [ba], _ = exchange(away, "bind", ("bu", 30, 60, "now"), expect=1)
    assert field(ba, "mip6.ba.status") == "0"
    flows = harness.binding_rules(net)
    assert len(flows) == 3 and any(f.startswith("s1:") and f"ipv6_dst={home}" in f
                                   for f in flows)
    assert harness.wait_for(lambda: harness.ping(net.get("cn1"), home)[0], 5,
                            "cn1 to reach the home address at the care-of address")
    assert harness.wait_for(lambda: harness.ping(net.get("hh1"), home)[0], 5,
                            "hh1 to reach the away home address through proxy ND")
    [ba], _ = exchange(away, "unbind", ("bu", 31, 0, "now"), expect=1)
    assert field(ba, "mip6.ba.status") == "0"
    assert harness.binding_rules(net) == []
