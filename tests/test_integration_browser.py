"""The live view in a real browser (docs/web.md): the page shows mn1's binding at its
new care-of address after a move, without a reload, because an event arrived on the
stream. MIPV6_SCREENSHOT=path keeps a screenshot of the page after the move."""
import os

import pytest

from mininet_topos import harness, roaming
from tests.browser import chromium

pytestmark = pytest.mark.integration
HOME = harness.host_address("mn1")


def shown_care_of(driver):
    """The care-of address the page's binding table shows for mn1, or None."""
    return driver.execute_script(
        "const row = document.querySelector(`#bindings tr[data-home='${arguments[0]}']`);"
        "return row ? row.dataset.careOf : null;", HOME)


def test_the_page_follows_mn1s_move_over_the_event_stream(tmp_path):
    with harness.reference_network() as (net, controller):
        agent = harness.start_agent(net.get("mn1"), log_path=tmp_path / "agent.log")
        try:
            roaming.move_host(net, "mn1", "s2")
            harness.wait_for(lambda: [b for b in controller.view("bindings")
                                      if b["care_of_address"].startswith("2001:db8:a:")],
                             15, "mn1's binding on visit-a")
            with chromium() as driver:
                driver.get(controller.url("/mipv6/"))
                harness.wait_for(lambda: (shown_care_of(driver) or "").startswith(
                    "2001:db8:a:") and driver.execute_script(
                    "return document.getElementById('status').textContent") == "live",
                    15, "the page with mn1 on visit-a, its stream live")
                driver.execute_script("window.__marker = 'never reloaded'")
                seen = driver.execute_script("return window.mipv6.lastEventId")

                roaming.move_host(net, "mn1", "s3")
                care_of = harness.wait_for(
                    lambda: (lambda c: c if c and c.startswith("2001:db8:b:") else None)(
                        shown_care_of(driver)), 15, "the page to show mn1 on visit-b")
                assert driver.execute_script("return window.__marker") == "never reloaded"
                # The render that first showed it was caused by an event of the stream.
                renders = driver.execute_script("return window.mipv6.renders")
                first = next(r for r in renders if [HOME, care_of] in r["careOf"])
                assert first["cause"]["kind"] == "event" and first["cause"]["id"] > seen
                assert care_of in [b["care_of_address"] for b in controller.view("bindings")]
                handover = driver.execute_script(
                    "const r = document.querySelector('#handovers tbody tr');"
                    "return r ? r.dataset.careOf : null;")
                assert handover == care_of
                if os.environ.get("MIPV6_SCREENSHOT"):
                    driver.save_screenshot(os.environ["MIPV6_SCREENSHOT"])
        finally:
            harness.stop_process(agent)
