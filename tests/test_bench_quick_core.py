"""The quick modes of the Core and Scale benchmarks run and give figures of the right
shape. Nothing here is about speed (the quick modes only prove the harness,
benchmarks/README.md)."""
from benchmarks import core, scale


def test_core_quick_gives_both_phases(capsys):
    result = core.main(["--quick"])
    out = capsys.readouterr().out
    assert "refresh" in out
    # The load generator's ports, and only they, are trusted; the report says so.
    assert result["source_validation"] == {"enabled": True, "trusted_ports": {2: [1], 3: [1]}}
    assert "load generator's ports (dpid 2 port 1, dpid 3 port 1) are trusted_ports" in out
    assert result["mobile_nodes"] > 0
    # Care-of forwarding's flow-mods, then every flow-mod of a reply: for a first
    # registration also the home address's two source-validation rules and the MN's MAC.
    for name, flow_mods, in_reply in (("first_registration", 3, 6), ("refresh", 0, 0)):
        phase = result["phases"][name]
        assert phase["bus"] == result["mobile_nodes"]
        assert phase["bus_per_second"] > 0
        assert phase["parse_only_per_second"] > 0
        assert phase["no_journal_per_second"] > 0
        assert phase["flow_mods_per_bu"] == flow_mods
        assert phase["reply_flow_mods_per_bu"] == in_reply


def test_core_profile_names_the_entry_point():
    result = core.run(20, profile=True, profile_top=5)
    assert set(result["profile"]) == {"first_registration", "refresh"}
    assert "packet_in" in result["profile"]["refresh"]


def test_scale_quick_gives_memory_rules_and_constant_handover_cost(tmp_path, capsys):
    result = scale.main(["--quick", "--json", str(tmp_path / "scale.json"),
                         "--plots", str(tmp_path / "plots")])
    out = capsys.readouterr().out
    assert "flow-mods" in out
    assert "load generator's ports (dpid 2 port 1, dpid 3 port 1) are trusted_ports" in out
    assert "mn1 alone on port 2 of each access switch, source-validated" in out
    assert (tmp_path / "scale.json").exists()
    assert [row["bindings"] for row in result["bindings"]] == [200, 400]
    for row in result["bindings"]:
        assert row["heap_bytes_per_binding"] > 0
        assert row["config_bytes_per_mn"] > 0
        assert row["flow_entries_per_binding"] == 3
        assert row["entries_at_home_and_care_of"] == [1, 2]
        assert row["bindings_with_entries"] == row["bindings"]
        assert row["binding_entries"] == 3 * row["bindings"]
        assert all(n > 0 for n in row["entries_per_switch"].values())
    handover = result["handover"]
    assert [row["access_links"] for row in handover] == [4, 16, 64]
    assert all(row["handovers"] > 0 and row["binding_entries_after"] == 3 for row in handover)
    # The same count for every handover of a topology (else a list of them) ...
    assert all(isinstance(row["flow_mods_per_handover"], int) for row in handover), [
        row["flow_mods"] for row in handover]
    # ... and across topologies.
    per_handover = {row["flow_mods_per_handover"] for row in handover}
    assert len(per_handover) == 1 and isinstance(per_handover.pop(), int)


def test_every_binding_has_its_entries_at_its_home_and_care_of_switches():
    row = scale.measure_bindings(50)
    assert row["bindings_with_entries"] == 50
    assert row["entries_at_home_and_care_of"] == [1, 2]
    assert row["flow_entries_per_binding"] == 3
