"""The soak (benchmarks/soak.py) in its quick form, with the real controller (root):
1,000 mobile nodes behind two load generators register, move, move back and
deregister for 60 s. At the end every binding is where the last round put it (none
lost, none left over), no BA was lost or refused, the switches hold exactly the rules of
those bindings (rules per binding × bindings) beside what they held before, and the
controller's resident memory grew less than 5 % after the warm-up round. The full
soak (10 minutes) is run by hand: ``python -m benchmarks.soak``."""
import pytest

from benchmarks import soak

pytestmark = pytest.mark.integration


def test_a_minute_of_roaming_loses_nothing_invents_nothing_and_leaks_nothing():
    result = soak.run(count=1000, seconds=60)
    soak.report(result)
    soak.check(result)  # bindings and rules (raises with what is wrong)
    assert len(result["rounds"]) >= 3  # the control: it did roam, round after round
    assert result["lost_or_rejected_bas"] == 0
    assert result["rss_growth"] < 0.05, result["rounds"]
