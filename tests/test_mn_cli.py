"""mipv6-mn's command line: every bad argument is one line naming it, and exit status 2."""
import ipaddress
import pathlib
import subprocess
import sys

import pytest

from mipv6_sdn.mn import cli

GOOD = {"--interface": "lo", "--home-address": "2001:db8:1::100/64", "--spi": "256",
        "--key-hex": "000102030405060708090a0b0c0d0e0f10111213"}
SCRIPT = pathlib.Path(sys.executable).parent / "mipv6-mn"


def argv(**changes):
    """GOOD with some arguments replaced (value None: left out)."""
    args = dict(GOOD)
    for name, value in changes.items():
        option = "--" + name.replace("_", "-")
        if value is None:
            args.pop(option)
        else:
            args[option] = value
    return [item for pair in args.items() for item in pair]


@pytest.mark.parametrize("changes, names", [
    ({"interface": None}, "--interface"),
    ({"home_address": None}, "--home-address"),
    ({"spi": None}, "--spi"),
    ({"key_hex": None}, "--key-hex"),
    ({"home_address": "2001:db8:1::100"}, "prefix length"),
    ({"home_address": "2001:db8:1::100/48"}, "/48"),
    ({"home_address": "2001:db8:1::100/129"}, "--home-address"),
    ({"home_address": "2001:db8:1::zz/64"}, "not an IPv6"),
    ({"home_address": "fe80::100/64"}, "not a global unicast"),
    ({"home_address": "ff02::100/64"}, "not a global unicast"),
    ({"home_address": "2001:db8:1::/64"}, "not a global unicast"),
    ({"home_agent": "2001:db8:1::1::1"}, "--home-agent"),
    ({"home_agent": "ff02::1"}, "not a global unicast"),
    ({"spi": "255"}, "out of range 256..4294967295"),
    ({"spi": "4294967296"}, "out of range 256..4294967295"),
    ({"spi": "-1"}, "out of range"),
    ({"spi": "many"}, "not an integer"),
    ({"key_hex": "00010203zz"}, "not a hexadecimal"),
    ({"key_hex": "000102030405060708090a0b0c0d0e"}, "at least 16 octets"),
    ({"lifetime": "0"}, "out of range 4..262140"),
    ({"lifetime": "262141"}, "out of range 4..262140"),
    ({"lifetime": "1h"}, "not an integer"),
    ({"interface": "a/b"}, "not an interface name"),
    ({"interface": "no-such-if0"}, "no such interface"),
    ({"route_optimise": "2001:db8:c::1/64"}, "host bits set"),
    ({"route_optimise": "2001:db8:c::/129"}, "not an IPv6 prefix"),
    ({"route_optimise": "ff0e::/16"}, "not a unicast routable prefix"),
    ({"route_optimise": "fe80::/64"}, "not a unicast routable prefix"),
])
def test_a_bad_argument_is_one_line_and_exit_2(capsys, changes, names):
    assert cli.main(argv(**changes)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mipv6-mn: error: ")
    assert names in err
    option = "--" + next(iter(changes)).replace("_", "-")
    assert option in err or "no such interface" in err


def test_an_unknown_option_is_one_line_and_exit_2(capsys):
    assert cli.main(argv() + ["--colour", "blue"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--colour" in err


def test_good_arguments_and_their_defaults():
    args = cli.parse_args(argv())
    assert args.home_address == ipaddress.IPv6Interface("2001:db8:1::100/64")
    assert args.home_agent is None and args.lifetime == 420 and args.spi == 256
    assert args.key_hex == bytes(range(20))
    args = cli.parse_args(argv(home_agent="2001:db8:1::1", lifetime="600", spi="0xffffffff"))
    assert args.home_agent == ipaddress.IPv6Address("2001:db8:1::1")
    assert args.lifetime == 600 and args.spi == 2 ** 32 - 1


def test_the_console_script_reports_a_bad_argument_with_exit_2():
    result = subprocess.run([str(SCRIPT)] + argv(spi="7"), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr == ("mipv6-mn: error: argument --spi: 7 out of range 256..4294967295 "
                             "(RFC 4285 §5: 0-255 are reserved)\n")
    assert result.stdout == ""


def test_route_optimise_is_repeatable_and_off_by_default():
    assert cli.parse_args(argv()).route_optimise == ()
    args = cli.parse_args(argv() + ["--route-optimise", "2001:db8:c::/64", "--route-optimise",
                                    "2001:db8:d::/48", "--route-optimise", "2001:db8:c::/64"])
    assert args.route_optimise == (ipaddress.IPv6Network("2001:db8:c::/64"),
                                   ipaddress.IPv6Network("2001:db8:d::/48"))


def test_at_most_16_route_optimised_prefixes(capsys):
    many = [item for i in range(cli.MAX_ROUTE_OPTIMISE + 1)
            for item in ("--route-optimise", f"2001:db8:{i:x}::/64")]
    assert len(cli.parse_args(argv() + many[:-2]).route_optimise) == cli.MAX_ROUTE_OPTIMISE
    assert cli.main(argv() + many) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--route-optimise" in err and "more than 16" in err


def test_route_optimise_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    assert "--route-optimise PREFIX" in capsys.readouterr().out
