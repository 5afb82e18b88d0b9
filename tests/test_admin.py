"""Admin actions and who may ask for them (mipv6_sdn/admin.py, docs/web.md): a page in
the user's browser (another Origin, or a rebound DNS name in Host) or a request without
the token changes nothing, each with its control."""
import ipaddress

import pytest

from mipv6_sdn import admin
from mipv6_sdn.config import WebConfig
from mipv6_sdn.ofmsg import count_flow_mods
from tests import mipv6_frames as frames
from tests.test_care_of_forwarding import away_harness, binding_rules, register

TOKEN = "0123456789abcdef0123"
WEB = WebConfig(admin_token=TOKEN, allowed_hosts=("lab.example",))
GOOD = {"Host": "127.0.0.1:8080", "Authorization": f"Bearer {TOKEN}"}
HOME = ipaddress.IPv6Address(frames.MN1_HOME)


def refused(headers, web=WEB):
    with pytest.raises(admin.AdminError) as error:
        admin.authorize(headers, web, 8080)
    return error.value.status


def test_the_token_host_and_origin_are_all_required():
    admin.authorize(GOOD, WEB, 8080)  # the control: allowed
    admin.authorize({**GOOD, "Origin": "http://127.0.0.1:8080"}, WEB, 8080)
    admin.authorize({**GOOD, "host": "lab.example:8080"}, WEB, 8080)
    # behind a TLS proxy that keeps the Host: no port, an https Origin
    admin.authorize({**GOOD, "Host": "lab.example", "Origin": "https://lab.example"}, WEB,
                    8080)
    assert refused({**GOOD, "Authorization": "Bearer wrong-token-wrong-token"}) == 401
    assert refused({"Host": "127.0.0.1:8080"}) == 401
    assert refused({**GOOD, "Authorization": TOKEN}) == 401  # not a bearer token
    assert refused({**GOOD, "Host": "attacker.example:8080"}) == 403  # DNS rebinding
    assert refused({**GOOD, "Host": "127.0.0.1:9999"}) == 403
    assert refused({**GOOD, "Origin": "http://attacker.example"}) == 403  # CSRF
    assert refused({**GOOD, "Origin": "null"}) == 403
    assert refused({**GOOD, "Origin": "http://127.0.0.1:8080.attacker.example"}) == 403
    assert refused({**GOOD, "Host": "127.0.0.1:8080, attacker.example"}) == 403
    assert refused(GOOD, WebConfig()) == 403  # no token configured: no admin at all


def test_removing_a_binding_takes_its_rules_with_it():
    harness = away_harness()
    register(harness, "visit-a", seq=1)
    assert binding_rules(harness, 2)
    msgs = admin.remove_binding(harness.router, harness.now, str(HOME))
    harness.run(msgs)
    assert harness.router.home_agent.cache.get(HOME) is None
    assert count_flow_mods(msgs) > 0 and not binding_rules(harness, 2)
    assert [e["action"] for e in harness.router.events.drain()
            if e["kind"] == "admin"] == ["remove_binding"]
    with pytest.raises(admin.AdminError) as error:
        admin.remove_binding(harness.router, harness.now, str(HOME))
    assert error.value.status == 404


def test_a_refresh_request_goes_to_the_care_of_address():
    harness = away_harness()
    register(harness, "visit-a", seq=1)
    [(dpid, ports, frame)] = harness.run(
        admin.request_refresh(harness.router, harness.now, str(HOME)))
    assert (dpid, ports) == (2, [5])  # mn1 on visit-a
    assert frame["IPv6"].dst == "2001:db8:a:0:200:ff:fe00:100"
    assert frame.haslayer("MIP6MH_BRR")


@pytest.mark.parametrize("address, status", [("not-an-address", 400),
                                             ("2001:db8:1::999", 404)])
def test_bad_addresses_get_a_clear_error(address, status):
    harness = away_harness()
    with pytest.raises(admin.AdminError) as error:
        admin.request_refresh(harness.router, harness.now, address)
    assert error.value.status == status
