"""The delay element's scheduling (mininet_topos/delay_link.py) and its topology as a
graph: no root, no sockets, no clock (times are passed in)."""
import pytest

from mininet_topos import roaming
from mininet_topos.delay_link import (DELAY_NODE, DelayedHomeTopo, DelayLine, DelayNode,
                                      relay_stats)


def test_nothing_leaves_before_its_delay():
    line = DelayLine(0.010)
    line.push(100.0, "b", b"frame")
    assert line.due(100.0) == []
    assert line.due(100.0099) == []
    assert line.due(100.010) == [(100.010, "b", b"frame")]
    assert len(line) == 0


def test_frames_leave_once_each():
    line = DelayLine(0.010)
    line.push(0.0, "b", b"x")
    assert len(line.due(1.0)) == 1
    assert line.due(2.0) == []


def test_order_of_arrival_is_kept_across_both_directions_and_equal_times():
    line = DelayLine(0.005)
    frames = [(0.001, "b", b"1"), (0.001, "a", b"2"), (0.001, "b", b"3"),
              (0.002, "a", b"4"), (0.0035, "b", b"5")]
    for now, out, frame in frames:
        line.push(now, out, frame)
    sent = line.due(1.0)
    assert [frame for _, _, frame in sent] == [b"1", b"2", b"3", b"4", b"5"]
    assert [out for _, out, _ in sent] == ["b", "a", "b", "a", "b"]
    assert [at for at, _, _ in sent] == pytest.approx([0.006, 0.006, 0.006, 0.007, 0.0085])


def test_due_returns_only_what_is_due_and_keeps_the_rest():
    line = DelayLine(0.010)
    for i in range(5):
        line.push(i * 0.004, "out", bytes([i]))  # due at 0.010, 0.014, ... 0.026
    assert [f for _, _, f in line.due(0.015)] == [b"\x00", b"\x01"]
    assert len(line) == 3
    assert [f for _, _, f in line.due(0.022)] == [b"\x02", b"\x03"]
    assert [f for _, _, f in line.due(0.030)] == [b"\x04"]


def test_frames_are_passed_untouched():
    lldp = bytes.fromhex("0180c200000e 000000000103 88cc 0207040000000000000001")
    mpls = bytes.fromhex("000000000503 020000000001 8847 00010140") + bytes(range(60))
    line = DelayLine(0.0)
    line.push(0.0, 1, lldp)
    line.push(0.0, 0, mpls)
    assert [f for _, _, f in line.due(0.0)] == [lldp, mpls]


def test_timeout_is_the_wait_for_the_head_frame():
    line = DelayLine(0.010)
    assert line.timeout(0.0) is None
    line.push(1.000, "b", b"x")
    line.push(1.004, "a", b"y")
    assert line.timeout(1.004) == pytest.approx(0.006)
    assert line.timeout(1.020) == 0.0  # overdue: no wait
    line.due(1.010)
    assert line.timeout(1.010) == pytest.approx(0.004)


def test_zero_delay_passes_at_once_and_negative_is_refused():
    line = DelayLine(0)
    line.push(5.0, "b", b"x")
    assert line.timeout(5.0) == 0.0
    assert line.due(5.0) == [(5.0, "b", b"x")]
    with pytest.raises(ValueError):
        DelayLine(-0.001)


def test_topology_keeps_the_reference_switch_ports():
    delayed, reference = DelayedHomeTopo(delay_ms=10), roaming.RoamingTopo(radio=False)
    assert delayed.switches() == reference.switches()
    assert set(delayed.hosts()) == set(reference.hosts()) | {DELAY_NODE}
    ports = {}
    for a, b, info in delayed.links(withInfo=True):
        ports[(info["node1"], info["node2"])] = (info["port1"], info["port2"])
    assert ports[("s1", DELAY_NODE)] == (3, 0)
    assert ports[(DELAY_NODE, "s5")] == (1, 1)
    expected = {}
    for a, b, info in reference.links(withInfo=True):
        if {info["node1"], info["node2"]} != {"s1", "s5"}:
            expected[(info["node1"], info["node2"])] = (info["port1"], info["port2"])
    assert {k: v for k, v in ports.items() if DELAY_NODE not in k} == expected
    s1_s5 = [info for _, _, info in reference.links(withInfo=True)
             if {info["node1"], info["node2"]} == {"s1", "s5"}][0]
    assert (s1_s5["port1"], s1_s5["port2"]) == (3, 1)


def test_delay_node_parameters():
    info = DelayedHomeTopo(delay_ms=7.5).nodeInfo(DELAY_NODE)
    assert info["cls"] is DelayNode and info["delay_ms"] == 7.5 and info["ip"] is None


def test_relay_stats_reads_the_last_line(tmp_path):
    log = tmp_path / "relay.log"
    log.write_text('relaying a <-> b\nstats {"relayed": [3, 4], "send_errors": 0}\n')
    assert relay_stats(log) == {"relayed": [3, 4], "send_errors": 0}
    log.write_text("relaying a <-> b\n")
    assert relay_stats(log) == {}
