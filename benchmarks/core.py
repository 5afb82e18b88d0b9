"""Core benchmark: Binding Update processing of the pure core.

    .venv/bin/python -m benchmarks.core [--count 10000] [--quick] [--profile] [--json PATH]

Authenticated home-registration BUs (RFC 6275 §11.7.1 with the RFC 4285 MN-HA
authentication and replay-protection options) from ``count`` distinct mobile nodes are
fed through :meth:`mipv6_sdn.router.Router.packet_in` on the reference graph of
mipv6_sdn/testing/core_harness.py (switches and links up), with a :class:`SqliteBindingStore` in a
temporary directory, so one measured BU covers: parse, validate, authenticate, update
the binding cache and write it through to the SQLite journal (binding and replay
state), plan the rule changes, and build the BA (and, for a first registration, the
proxy NA on the home link). No Ryu runtime: the OpenFlow messages are built with
``datapath=None`` and dropped. Every frame is built before timing starts, with
:func:`mipv6_sdn.mobility.serialize_mobility_header` and the key the controller derives
for a ``[[mobile_node_range]]`` (:func:`mipv6_sdn.config.derived_key`).

The benchmark is a load generator: it speaks for ``count`` MNs behind one host port on
visit-a and one on visit-b. Those two ports are the configuration's ``trusted_ports``
(source address validation, FCFS SAVI, RFC 6620, is on everywhere else): a port that
emulates many mobile nodes is not source-validated, so none of its MNs' care-of
addresses is claimed (docs/configuration.md). The printed report says so.

Two phases, timed separately with ``time.perf_counter`` on one core:
- first registrations: every MN registers a care-of address on visit-a or visit-b
  (3 flow-mods of care-of forwarding, 2 source-validation rules of the home address:
  valid at the MN's port and MAC, dropped at the home switch, and the switching rule
  of the MN's MAC, new at its port: 6 flow-mods, the BA and an unsolicited NA each);
- refreshes: the same care-of address, a new sequence number and timestamp (no rule
  change: the BA only).
Reference in the same run: :func:`mipv6_sdn.packets.parse_frame` alone over the same
frames, so the table also says how many times the cost of parsing a BU its processing is.
After timing, every binding and its last change are checked (forwarding's 3 flow-mods
for a first registration, none for a refresh), and the replies of a sample (status 0,
every flow-mod they carry: 6 and 0), so a fast run of rejected BUs cannot pass as a
result. A benchmark, not a test: nothing is
asserted about speed.

Where the time goes (``--profile``: cProfile, 10,000 MNs, Python 3.11, 2-core
development machine, 2026-11-27; shares of profiled time, which inflates Python calls
against C calls, so read them as a ranking; the no-journal column of the table is the
unprofiled cross-check):

- First registration (~320 us/BU unprofiled, ~600 us profiled). ~63 % is
  ``Router._binding_changed`` -> ``plan_handover``, i.e. building the three OFPFlowMods
  with Ryu's parser classes: ``OFPMatch.__init__`` alone is ~44 % (each field goes
  through ``oxx_fields._normalize_user`` / ``_from_user`` / ``_to_user`` and
  ``addrconv`` text<->binary conversions of the IPv6 and MAC values, 180,000 calls
  for 10,000 BUs). The SQLite journal (2 statements per BU) is ~8 %, parsing ~8 %,
  the BA ~7 %, the RFC 6275 checks (``_decide``) ~6 %.
- Refresh (~135 us/BU unprofiled with the journal, ~70 us without). The SQLite
  ``execute`` calls are the single biggest item, ~22 % profiled and ~half of the
  unprofiled time (journal on vs. off): two autocommit statements, so two WAL
  transactions, per BU (``record`` of the binding and ``record_timestamp``), plus
  ``str()`` of IPv6 addresses for their keys (~9 %). The rest is flat: ~430 Python
  function calls per BU, none above 5 % own time: ``parse_frame`` (~17 % cumulative:
  TLV options walk, checksum), building and signing the BA
  (``_acknowledgement`` ~15 %: ``serialize_mobility_header``, HMAC), ``_decide``
  (~15 %, ``ipaddress`` comparisons and ``__contains__``), the HMAC check (~5 %),
  ``_binding_changed`` (~8 %, deciding that nothing changes).

What would move it (read off the profile; only the journal's share is measured, by
the no-journal column; nothing is changed in the core by a benchmark):
- the journal: one transaction per BU instead of two (or one per batch of packet-ins:
  group commit), and addresses stored as 16-byte BLOBs instead of text; the no-journal
  column is the bound of this step (about 2x on refreshes);
- first registrations: flow-mods without Ryu's OFPMatch normalisation (a prebuilt
  match template per rule kind, or serialising the three rules directly);
- refreshes beyond ~15,000/s need fewer Python calls per BU: keys as packed bytes
  instead of ``ipaddress`` objects, a precomputed HMAC state per MN, and a fast path
  for a refresh that changes only sequence, timestamp and expiry. Parsing alone runs at
  ~100,000 BUs/s, so the 50,000/s target leaves the whole processing only the cost of
  one more parse: CPython with this structure does not reach it; PyPy or a
  compiled codec and cache would be the way there.
"""
import argparse
import cProfile
import io
import ipaddress
import json
import pstats
import sys
import tempfile
import time
import pathlib

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.config import derived_key, parse_config
from mipv6_sdn.journal import SqliteBindingStore
from mipv6_sdn.router import SERVED_TOGETHER, Router
from mipv6_sdn.testing.core_harness import Harness
from ryu.ofproto import ofproto_v1_3_parser as parser

NOW = 1_800_000_000.0
HOME_PREFIX = "2001:db8:1::/64"
HOME_AGENT = ipaddress.IPv6Address("2001:db8:1::1")
FIRST_HOME = ipaddress.IPv6Address("2001:db8:1::1:0")
FIRST_SPI = 4096
SECRET = bytes(range(32))
LIFETIME = 420
# The care-of switches of the reference graph (mipv6_sdn/testing/core_harness.py): visit-a on
# dpid 2, visit-b on dpid 3, host port 1 on both: the load generator's ports, behind each
# of which half the MNs are emulated.
VISITED = [(2, 1, ipaddress.IPv6Network("2001:db8:a::/64")),
           (3, 1, ipaddress.IPv6Network("2001:db8:b::/64"))]
FIRST_CARE_OF_IID = 0x1_0000
# Flow-mods of one BU. Care-of forwarding's (router.forwarding.changes counts these):
FORWARDING_FLOW_MODS = {"first_registration": 3, "refresh": 0}
# Everything a BU's reply carries: forwarding's, and for a first registration the two
# source-validation rules of the home address (valid at the MN's port and MAC, dropped at
# the home switch) and the switching rule of the MN's MAC, new at its port. Nothing is
# claimed for the care-of address: the generator's ports are trusted.
REPLY_FLOW_MODS = {"first_registration": 3 + 2 + 1, "refresh": 0}


def trusted_ports():
    """{dpid: [ports]}: the load generator's ports, the configuration's trusted_ports."""
    ports = {}
    for dpid, port, _ in VISITED:
        ports.setdefault(dpid, []).append(port)
    return ports


def trusted_note(ports):
    """The report's line on source address validation, for {dpid: [ports]} trusted."""
    where = ", ".join(f"dpid {dpid} port {port}" for dpid, numbers in sorted(ports.items())
                      for port in numbers)
    return (f"source address validation (RFC 6620) on; the load generator's ports ({where}) "
            "are trusted_ports: not source-validated, each emulates many MNs")


def reference_config(count, max_bindings=None, require_authentication=True):
    """The reference network's links (mininet_topos/roaming.toml) with ``count`` mobile
    nodes in one ``[[mobile_node_range]]``; the load generator's ports on visit-a and
    visit-b (``VISITED``) are ``trusted_ports``, every other port is source-validated."""
    trusted = trusted_ports()
    links = [{"name": "home", "dpid": 1, "prefix": HOME_PREFIX, "router": str(HOME_AGENT),
              "home_agent": str(HOME_AGENT)},
             {"name": "visit-a", "dpid": 2, "prefix": "2001:db8:a::/64",
              "trusted_ports": trusted[2]},
             {"name": "visit-b", "dpid": 3, "prefix": "2001:db8:b::/64",
              "trusted_ports": trusted[3]},
             {"name": "corr", "dpid": 4, "prefix": "2001:db8:c::/64"}]
    home_agent_table = {"max_binding_lifetime": LIFETIME,
                        "require_authentication": require_authentication}
    if max_bindings is not None:
        home_agent_table["max_bindings"] = max_bindings
    return parse_config({
        "controller": {"router_mac": "02:00:00:00:00:01", "mtu": 1496, "ra_interval": 10},
        "link": links, "home_agent": home_agent_table,
        "mobile_node_range": [{"first_home_address": str(FIRST_HOME), "count": count,
                               "first_spi": FIRST_SPI, "secret": SECRET.hex()}]})


def mobile_node(index):
    """(home address, SPI, key, MAC, dpid, port, care-of address) of MN ``index``."""
    home = FIRST_HOME + index
    dpid, port, prefix = VISITED[index % len(VISITED)]
    mac = ":".join(f"{b:02x}" for b in (0x0a, 0, *(index.to_bytes(4, "big"))))
    care_of = prefix[FIRST_CARE_OF_IID + index]
    return home, FIRST_SPI + index, derived_key(SECRET, home), mac, dpid, port, care_of


def binding_update_frame(home, spi, key, mac, care_of, sequence, timestamp,
                         lifetime=LIFETIME, router_mac="02:00:00:00:00:01"):
    """An authenticated home-registration BU from ``care_of`` with a Home Address option,
    built as the MN agent builds it (mipv6_sdn/mn/core.py)."""
    update = mobility.BindingUpdate(
        sequence=sequence, lifetime=lifetime // 4, ack=True, home=True,
        options=(mobility.MobilityMessageReplayProtection(timestamp),))
    mh = mobility.serialize_mobility_header(update, home, HOME_AGENT,
                                            auth=(spi, key, care_of, home))
    packet = packets.ipv6(care_of, HOME_AGENT, wire.IPPROTO_DSTOPTS,
                          mobility.home_address_option(home, wire.IPPROTO_MH) + mh)
    return packets.ethernet(router_mac, mac, packet)


def build_frames(count, sequence, now, first=0):
    """[(dpid, port, frame)] of one BU per MN ``first``..``first+count-1``."""
    stamp = mobility.ntp_timestamp(now)
    frames = []
    for index in range(first, first + count):
        home, spi, key, mac, dpid, port, care_of = mobile_node(index)
        frames.append((dpid, port, binding_update_frame(home, spi, key, mac, care_of,
                                                        sequence, stamp)))
    return frames


def make_router(config, journal=None, now=NOW):
    """A router on the reference graph with every switch and link up, and the fake
    network that holds the rules it installed (mipv6_sdn/testing/core_harness.py)."""
    harness = Harness(now=now, router=Router(config, store=journal))
    return harness.router, harness.net


def feed(router, frames, now, together=SERVED_TOGETHER):
    """Every frame through ``router.packet_ins``, ``together`` at a time as the shell
    serves them (their journal writes in one transaction, group commit); (seconds,
    messages returned).

    The replies are dropped as the shell drops them once sent: keeping 10,000 replies'
    OpenFlow objects alive would make the garbage collector's full passes, and so the
    run, slower with every BU (an artefact of the harness, measured: about 30 % fewer
    first registrations per second at 10,000 MNs). :func:`verify` checks the outcome
    from the router's state, and :func:`sample_replies` the replies of a few BUs."""
    batches = [[(dpid, port, frame, False) for dpid, port, frame in frames[i:i + together]]
               for i in range(0, len(frames), together)]
    packet_ins = router.packet_ins
    sent = 0
    start = time.perf_counter()
    for batch in batches:
        sent += len(packet_ins(now, batch))
    return time.perf_counter() - start, sent


def parse_only(frames):
    parse = packets.parse_frame
    start = time.perf_counter()
    for _, _, frame in frames:
        parse(frame)
    return time.perf_counter() - start


def ba_status(reply_msgs):
    """The status of the BA among ``reply_msgs`` (None when there is none)."""
    for _, msg in reply_msgs:
        if isinstance(msg, parser.OFPPacketOut):
            meta = packets.parse_frame(msg.data)
            if meta.mobility is not None and isinstance(meta.mobility.message,
                                                        mobility.BindingAck):
                return meta.mobility.message.status
    return None


def check(replies, flow_mods_each, what):
    """Every reply accepted (status 0) with ``flow_mods_each`` flow-mods; raise if not;
    the flow-mods per reply."""
    for index, msgs in enumerate(replies):
        status = ba_status(msgs)
        flow_mods = sum(isinstance(m, parser.OFPFlowMod) for _, m in msgs)
        if status != 0 or flow_mods != flow_mods_each:
            raise RuntimeError(f"{what} of MN {index}: BA status {status}, {flow_mods} "
                               f"flow-mods (expected 0 and {flow_mods_each})")
    return flow_mods_each


def verify(router, count, sequence, event, flow_mods_each, what):
    """After a phase: every MN has its binding at ``sequence``, and its last change was
    ``event`` with ``flow_mods_each`` flow-mods; the total of flow-mods."""
    cache, changes = router.home_agent.cache, router.forwarding.changes
    if len(cache) != count:
        raise RuntimeError(f"{what}: {len(cache)} bindings, expected {count}")
    total = 0
    for index in range(count):
        home = FIRST_HOME + index
        binding, change = cache.get(home), changes.get(home)
        if binding is None or binding.sequence != sequence or change is None or \
                change["event"] != event or change["flow_mods"] != flow_mods_each:
            raise RuntimeError(f"{what} of MN {index}: binding {binding}, change {change}")
        total += change["flow_mods"]
    return total


def sample_replies(config, registrations, refreshes, sample=20):
    """The replies of the first ``sample`` MNs on a fresh router: BA status 0 and every
    flow-mod they carry (``REPLY_FLOW_MODS``: 6 for a first registration, none for a
    refresh); {phase: flow-mods per reply}."""
    router, _ = make_router(config)
    return {
        "first_registration": check(
            [router.packet_in(NOW, *bu) for bu in registrations[:sample]],
            REPLY_FLOW_MODS["first_registration"], "first registration"),
        "refresh": check([router.packet_in(NOW + 1, *bu) for bu in refreshes[:sample]],
                         REPLY_FLOW_MODS["refresh"], "refresh")}


def run(count, profile=False, profile_top=20, out=sys.stdout):
    """Measure both phases for ``count`` MNs; a dict of the figures."""
    config = reference_config(count)
    build_start = time.perf_counter()
    registrations = build_frames(count, sequence=1, now=NOW)
    refreshes = build_frames(count, sequence=2, now=NOW + 1)
    build_seconds = time.perf_counter() - build_start
    with tempfile.TemporaryDirectory(prefix="mipv6-bench-core-") as work:
        journal = SqliteBindingStore(str(pathlib.Path(work) / "bindings.sqlite"))
        router, _ = make_router(config, journal)
        parse_registrations = parse_only(registrations)
        parse_refreshes = parse_only(refreshes)
        seconds_registrations, sent_registrations = feed(router, registrations, NOW)
        flow_mods_registrations = verify(router, count, 1, "added",
                                         FORWARDING_FLOW_MODS["first_registration"],
                                         "first registration")
        seconds_refreshes, sent_refreshes = feed(router, refreshes, NOW + 1)
        flow_mods_refreshes = verify(router, count, 2, "refreshed",
                                     FORWARDING_FLOW_MODS["refresh"], "refresh")
        journal.close()
        # The same BUs one by one (a commit each): what group commit saves.
        single = SqliteBindingStore(str(pathlib.Path(work) / "one-by-one.sqlite"))
        one_by_one, _ = make_router(config, single)
        single_registrations, _ = feed(one_by_one, registrations, NOW, together=1)
        single_refreshes, _ = feed(one_by_one, refreshes, NOW + 1, together=1)
        verify(one_by_one, count, 2, "refreshed", FORWARDING_FLOW_MODS["refresh"],
               "refresh one by one")
        single.close()
        # The same BUs on a router without a journal: what the SQLite write-through costs.
        bare, _ = make_router(config, None)
        bare_registrations, _ = feed(bare, registrations, NOW)
        bare_refreshes, _ = feed(bare, refreshes, NOW + 1)
        verify(bare, count, 2, "refreshed", FORWARDING_FLOW_MODS["refresh"],
               "refresh without journal")
        reply_flow_mods = sample_replies(config, registrations, refreshes)
        profiles = {}
        if profile:
            profiles = profile_phases(config, registrations, refreshes, work, profile_top)
    phases = {}
    for name, seconds, parse_seconds, bare_seconds, single_seconds, flow_mods, sent in (
            ("first_registration", seconds_registrations, parse_registrations,
             bare_registrations, single_registrations, flow_mods_registrations,
             sent_registrations),
            ("refresh", seconds_refreshes, parse_refreshes, bare_refreshes, single_refreshes,
             flow_mods_refreshes, sent_refreshes)):
        phases[name] = {
            "bus": count, "seconds": seconds, "bus_per_second": count / seconds,
            "served_together": SERVED_TOGETHER,
            "one_by_one_per_second": count / single_seconds,
            "us_per_bu": seconds / count * 1e6,
            "parse_only_per_second": count / parse_seconds,
            "parse_only_us": parse_seconds / count * 1e6,
            "cost_over_parse": seconds / parse_seconds,
            "no_journal_per_second": count / bare_seconds,
            "journal_us_per_bu": (seconds - bare_seconds) / count * 1e6,
            "flow_mods": flow_mods, "flow_mods_per_bu": flow_mods / count,
            "reply_flow_mods_per_bu": reply_flow_mods[name],
            "messages_per_bu": sent / count,
        }
    result = {"suite": "core", "mobile_nodes": count, "journal": "sqlite WAL, synchronous=NORMAL",
              "source_validation": {"enabled": config.source_validation.enabled,
                                    "trusted_ports": trusted_ports()},
              "frame_build_seconds": build_seconds, "phases": phases,
              "target_refreshes_per_second": 50_000,
              "target_met": phases["refresh"]["bus_per_second"] >= 50_000,
              "python": sys.version.split()[0]}
    if profiles:
        result["profile"] = profiles
    return result


def profile_phases(config, registrations, refreshes, work, top):
    """Both phases again on a fresh router and journal under cProfile; the top functions
    by cumulative time, as text."""
    journal = SqliteBindingStore(str(pathlib.Path(work) / "profiled.sqlite"))
    router, _ = make_router(config, journal)
    texts = {}
    for name, frames, now in (("first_registration", registrations, NOW),
                              ("refresh", refreshes, NOW + 1)):
        profiler = cProfile.Profile()
        profiler.enable()
        feed(router, frames, now)
        profiler.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats("cumulative").print_stats(top)
        stream.write("\n-- by own (total) time --\n")
        stats.sort_stats("tottime").print_stats(top)
        texts[name] = stream.getvalue()
    journal.close()
    return texts


def table(result):
    phases = result["phases"]
    lines = [f"Core: BU processing of the pure core, {result['mobile_nodes']:,} MNs, "
             f"one core, journal {result['journal']} (Python {result['python']})",
             trusted_note(result["source_validation"]["trusted_ports"]),
             f"{'phase':20} {'BUs/s':>10} {'us/BU':>8} {'flow-mods/BU':>13} "
             f"{'in reply':>9} {'parse-only/s':>13} {'parse us':>9} {'x parse':>8} "
             f"{'no-journal/s':>13} {'1-by-1/s':>9}"]
    for name, p in phases.items():
        lines.append(f"{name:20} {p['bus_per_second']:10,.0f} {p['us_per_bu']:8.1f} "
                     f"{p['flow_mods_per_bu']:13.1f} {p['reply_flow_mods_per_bu']:9d} "
                     f"{p['parse_only_per_second']:13,.0f} "
                     f"{p['parse_only_us']:9.1f} {p['cost_over_parse']:8.1f} "
                     f"{p['no_journal_per_second']:13,.0f} "
                     f"{p['one_by_one_per_second']:9,.0f}")
    lines.append("flow-mods/BU: care-of forwarding's (the binding changes); in reply: every "
                 "flow-mod of a BU's reply, with source validation's (a sample)")
    lines.append(f"BUs/s: {SERVED_TOGETHER} packet-ins at a time, as the shell serves them "
                 "(one journal commit per group); 1-by-1/s: a commit per BU")
    refresh = phases["refresh"]["bus_per_second"]
    lines.append(f"target: >= 50,000 refreshes/s: {refresh:,.0f}/s -> "
                 f"{'met' if result['target_met'] else 'NOT met'} "
                 f"({refresh / 50_000:.2f} of the target)")
    return "\n".join(lines)


def main(argv=None):
    parser_ = argparse.ArgumentParser(prog="python -m benchmarks.core", description=__doc__.split(
        "\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser_.add_argument("--count", type=int, default=10_000, help="mobile nodes (10,000)")
    parser_.add_argument("--quick", action="store_true",
                         help="200 MNs: proves the harness works in about a second")
    parser_.add_argument("--profile", action="store_true",
                         help="run both phases again under cProfile and print the top")
    parser_.add_argument("--top", type=int, default=20, help="profile lines (20)")
    parser_.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser_.parse_args(argv)
    count = 200 if args.quick else args.count
    result = run(count, profile=args.profile, profile_top=args.top)
    print(table(result))
    for name, text in result.get("profile", {}).items():
        print(f"\n== cProfile: {name} ({count:,} BUs) ==")
        print(text)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
