"""The Mininet CLI driven as a user would (docs/mininet.md): it starts mn1's agent by
itself, `move mn1 s2 5` roams it by its radio hub with a 5 ms L2 outage (the controller
binds it at visit-a), `where` and `links` say where it is now."""
import io
import os

import pytest

from mininet_topos import harness, roaming

pytestmark = pytest.mark.integration
WAIT_FOR_VISIT_A = (  # the script polls the controller, with a deadline
    "sh for i in $(seq 150); do curl -s http://127.0.0.1:8080/mipv6/bindings "
    "| grep -q 2001:db8:a: && break; sleep 0.1; done")


def test_move_where_and_links_at_the_prompt_with_the_agent_started_by_the_cli(tmp_path):
    script = tmp_path / "commands"
    script.write_text("\n".join(["move mn1 s2 5", WAIT_FOR_VISIT_A, "where mn1", "links",
                                 "move mn1 nowhere", "move mn1 s5", "move mn1 s2 soon"]) + "\n")
    with harness.reference_network() as (net, controller):
        assert controller.view("bindings") == []
        out = io.StringIO()
        with open(os.devnull) as stdin:
            cli = roaming.RoamingCLI(net, script=str(script), stdin=stdin, stdout=out)
        said = out.getvalue().splitlines()
        # hub1's patch port on s2 is s2's port 1; the link was gone at least 5 ms
        [moved] = [line for line in said if line.startswith("mn1 is on s2 port 1 (link")]
        assert 5.0 <= float(moved.split("link down ")[1].split()[0]) < 50
        [where] = [line for line in said if line.startswith("mn1 is on s2 port 1 (visit-a)")]
        assert "2001:db8:a:0:200:ff:fe00:100" in where and "2001:db8:1::100" in where
        assert "mn1:0 <-> hub1:1" in said and "hub1:3 <-> s2:1" in said
        assert "hub1:2 <-> s1:1 (blocked)" in said
        assert any(line.startswith("move: no switch 'nowhere'") for line in said)
        assert any(line.startswith("move: hub1: no radio link to s5") for line in said)
        assert any(line.startswith("usage: move HOST SWITCH [L2_OUTAGE_MS]") for line in said)
        [binding] = controller.view("bindings")
        assert binding["care_of_address"] == "2001:db8:a:0:200:ff:fe00:100"
        # The agent was the CLI's: it stopped with the CLI.
        assert list(cli.agents) == ["mn1"]
        assert all(process.poll() is not None for process in cli.agents.values())
