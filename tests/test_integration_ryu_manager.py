"""Plain ryu-manager from the venv loads the app (the Python 3.11 fix comes from the .pth)."""
import json
import os
import subprocess
import sys
import urllib.request

import pytest

from mininet_topos import harness

pytestmark = pytest.mark.integration
RYU_MANAGER = os.path.join(os.path.dirname(sys.executable), "ryu-manager")


def run_ryu_manager(config, tmp_path):
    rest_port = harness.free_port()
    log = open(tmp_path / "ryu.log", "w")
    process = subprocess.Popen(
        [RYU_MANAGER, "apps/mipv6_controller.py", "--ofp-tcp-listen-port",
         str(harness.free_port()), "--wsapi-port", str(rest_port)],
        cwd=harness.ROOT, env=dict(os.environ, MIPV6_SDN_CONFIG=str(config)),
        stdout=log, stderr=subprocess.STDOUT)
    return process, rest_port


def test_plain_ryu_manager_runs_the_app_with_the_config_from_the_environment(tmp_path):
    process, rest_port = run_ryu_manager(harness.REFERENCE_CONFIG, tmp_path)
    try:
        def links():
            assert process.poll() is None, (tmp_path / "ryu.log").read_text()
            try:
                url = f"http://127.0.0.1:{rest_port}/mipv6/access_links"
                with urllib.request.urlopen(url, timeout=2) as response:
                    return json.load(response)
            except OSError:
                return None
        names = [link["name"] for link in harness.wait_for(links, 30, "ryu-manager's REST")]
        assert names == ["home", "visit-a", "visit-b", "corr"]
    finally:
        process.terminate()
        process.wait(10)


def test_plain_ryu_manager_stops_on_a_bad_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[link]]\nname = "x"\ndpid = 1\nprefix = "2001:db8:1::/48"\n')
    process, _ = run_ryu_manager(bad, tmp_path)
    try:
        assert process.wait(30) != 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "link[0].prefix: 2001:db8:1::/48 is not a /64" in (tmp_path / "ryu.log").read_text()
