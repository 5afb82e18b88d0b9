"""Scenario files (mininet_topos/scenario.py, docs/scenarios.md): the shipped ones load,
and every mistake gets one line that says what to change."""
import pathlib

import pytest

from mininet_topos import scenario

SCENARIOS = sorted((pathlib.Path(__file__).parent.parent / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_the_shipped_scenarios_load(path):
    loaded = scenario.load(path)
    assert loaded.moves and loaded.streams
    assert [m.at for m in loaded.moves] == sorted(m.at for m in loaded.moves)


GOOD = {"mobile_nodes": 2, "stream": [{"from": "cn1", "to": "mn2", "rate": 500}],
        "move": [{"at": 3, "host": "mn2", "switch": "s3"},
                 {"at": 2, "host": "mn1", "switch": "s2"}]}


def test_moves_are_played_in_time_order_and_the_duration_covers_them():
    loaded = scenario.parse(GOOD)
    assert [(m.at, m.host) for m in loaded.moves] == [(2.0, "mn1"), (3.0, "mn2")]
    assert loaded.duration >= 3 + scenario.TAIL
    assert loaded.streams == (scenario.Stream("cn1", "mn2", 500),)


@pytest.mark.parametrize("change, says", [
    ({"mobile_nodes": 9}, "mobile_nodes must be 1..4"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"move": [{"at": 2, "host": "mn3", "switch": "s2"}]}, "move[0]: no host 'mn3'"),
    ({"move": [{"at": 2, "host": "mn1", "switch": "s9"}]}, "move[0]: no switch 's9'"),
    ({"move": [{"at": 0.5, "host": "mn1", "switch": "s2"}]}, "at must be a time of at least"),
    ({"move": [{"at": 2, "host": "mn1"}]}, "needs exactly at, host and switch"),
    ({"stream": [{"from": "cn1", "to": "mn1", "rate": 50000}]}, "rate must be 1..10000"),
    ({"stream": [{"to": "mn1"}]}, "needs from and to"),
    ({"duration": 2}, "duration must be at least"),
])
def test_a_wrong_scenario_says_what_to_change(change, says):
    with pytest.raises(scenario.ScenarioError) as error:
        scenario.parse({**GOOD, **change}, "test.toml")
    assert says in str(error.value) and str(error.value).startswith("test.toml")


def test_a_bad_file_is_one_line_and_exit_status_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("mobile_nodes = [\n")
    assert scenario.main([str(path)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("scenario: ") and "bad.toml" in line
