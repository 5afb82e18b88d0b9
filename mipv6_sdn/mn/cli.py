"""``mipv6-mn``: the mobile-node agent, run inside a (Mininet) host as root.

    mipv6-mn --interface IF --home-address 2001:db8:1::100/64 [--home-agent ADDR]
             --spi N --key-hex HEX [--lifetime SECONDS] [--route-optimise PREFIX]...
             [--verbose]

A bad argument stops it with one line naming the argument and exit status 2. It logs
each step with a timestamp to standard error, and stops cleanly (exit 0) on SIGTERM or
SIGINT. docs/mobile-node.md says what it does.
"""
import argparse
import ipaddress
import logging
import secrets
import signal
import socket
import sys

from mipv6_sdn import mobility, wire
from mipv6_sdn.mn import core, system
from mipv6_sdn.mn.home_registration import DEFAULT_LIFETIME, MAX_LIFETIME

PROG = "mipv6-mn"
HOME_PREFIX_LEN = 64  # SLAAC (RFC 4862) and the home-agents anycast address (RFC 2526)
MIN_KEY_OCTETS = 16  # as the controller's configuration asks (docs/configuration.md)
MAX_SPI = 2 ** 32 - 1
MAX_ROUTE_OPTIMISE = 16  # prefixes: keeps the correspondent filter short (system.py)
EXIT_USAGE = 2
EXIT_FAILURE = 1


class UsageError(Exception):
    """A bad command line; the message names the argument."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _home_address(value):
    if "/" not in value:
        raise argparse.ArgumentTypeError(
            f"{value!r} has no prefix length (give the home prefix, e.g. 2001:db8:1::100/64)")
    try:
        interface = ipaddress.IPv6Interface(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IPv6 address/prefix length: "
                                         f"{exc}") from None
    if interface.network.prefixlen != HOME_PREFIX_LEN:
        raise argparse.ArgumentTypeError(
            f"prefix length /{interface.network.prefixlen}: the home prefix must be a "
            f"/{HOME_PREFIX_LEN}")
    if not wire.is_unicast_routable(interface.ip) \
            or interface.ip == interface.network.network_address:
        raise argparse.ArgumentTypeError(f"{interface.ip} is not a global unicast address")
    return interface


def _home_agent(value):
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IPv6 address: {exc}") from None
    if not wire.is_unicast_routable(address):
        raise argparse.ArgumentTypeError(f"{address} is not a global unicast address")
    return address


def _integer(value, low, high, base=10, unit=""):
    """``value`` as an integer in ``low``..``high``, or ArgumentTypeError."""
    try:
        number = int(value, base)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"{number} out of range {low}..{high}{unit}")
    return number


def _spi(value):
    return _integer(value, mobility.MIN_SPI, MAX_SPI, base=0,
                    unit=" (RFC 4285 §5: 0-255 are reserved)")


def _key(value):
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise argparse.ArgumentTypeError("not a hexadecimal string") from None
    if len(key) < MIN_KEY_OCTETS:
        raise argparse.ArgumentTypeError(
            f"{len(key)} octets: at least {MIN_KEY_OCTETS} octets ({2 * MIN_KEY_OCTETS} hex "
            "digits) are needed")
    return key


def _lifetime(value):
    return _integer(value, mobility.LIFETIME_UNIT, MAX_LIFETIME, unit=" seconds")


def _prefix(value):
    try:
        prefix = ipaddress.IPv6Network(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IPv6 prefix: {exc}") from None
    if prefix.is_multicast or prefix.is_link_local:
        raise argparse.ArgumentTypeError(f"{prefix} is not a unicast routable prefix")
    return prefix


class _Prefixes(argparse.Action):
    """--route-optimise, repeatable: the prefixes in order, each once, at most
    MAX_ROUTE_OPTIMISE."""

    def __call__(self, parser, namespace, value, option_string=None):
        prefixes = getattr(namespace, self.dest) or ()
        if value not in prefixes and len(prefixes) == MAX_ROUTE_OPTIMISE:
            raise argparse.ArgumentError(self, f"more than {MAX_ROUTE_OPTIMISE} prefixes")
        setattr(namespace, self.dest, prefixes + (value,) * (value not in prefixes))


def _interface(value):
    if not value or len(value) > 15 or "/" in value or value.strip() != value:
        raise argparse.ArgumentTypeError(f"{value!r} is not an interface name")
    return value


def build_parser():
    parser = _Parser(prog=PROG, description="Mobile IPv6 (RFC 6275) mobile node agent: "
                     "home registration with RFC 4285 authentication over a packet socket, "
                     "and route optimisation with chosen correspondents.")
    parser.add_argument("--interface", required=True, type=_interface,
                        help="the interface the node roams with (e.g. mn1-eth0)")
    parser.add_argument("--home-address", required=True, type=_home_address,
                        metavar="ADDRESS/64", help="home address with its home prefix length")
    parser.add_argument("--home-agent", type=_home_agent, metavar="ADDRESS",
                        help="the home agent; found by DHAAD when not given")
    parser.add_argument("--spi", required=True, type=_spi,
                        help="RFC 4285 Mobility SPI of the MN-HA association "
                        f"({mobility.MIN_SPI}..{MAX_SPI})")
    parser.add_argument("--key-hex", required=True, type=_key, metavar="HEX",
                        help=f"MN-HA key in hex, at least {MIN_KEY_OCTETS} octets")
    parser.add_argument("--lifetime", type=_lifetime, default=DEFAULT_LIFETIME,
                        metavar="SECONDS", help="binding lifetime to request (default "
                        f"{DEFAULT_LIFETIME}; rounded down to a multiple of 4)")
    parser.add_argument("--route-optimise", type=_prefix, action=_Prefixes, default=(),
                        metavar="PREFIX", help="route optimisation (return routability and "
                        "correspondent registration, RFC 6275 §11.7.2) with the hosts of "
                        "this IPv6 prefix; repeat for more (at most "
                        f"{MAX_ROUTE_OPTIMISE})")
    parser.add_argument("--verbose", action="store_true", help="log every frame sent")
    return parser


def parse_args(argv):
    """The checked arguments, or UsageError."""
    return build_parser().parse_args(argv)


def setup_logging(verbose=False):
    """Timestamped lines on standard error; --verbose adds the agent's own debug lines
    (not those of the libraries)."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s.%(msecs)03d " + PROG + " %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S")
    if verbose:
        logging.getLogger(PROG).setLevel(logging.DEBUG)


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        socket.if_nametoindex(args.interface)
    except OSError:
        print(f"{PROG}: error: argument --interface: no such interface: {args.interface}",
              file=sys.stderr)
        return EXIT_USAGE
    setup_logging(args.verbose)
    log = logging.getLogger(PROG)
    stop = []

    def on_signal(signum, _frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        interface = system.Interface(args.interface,
                                     watch_correspondents=bool(args.route_optimise))
    except (LookupError, OSError) as exc:
        hint = " (it needs root)" if isinstance(exc, PermissionError) else ""
        print(f"{PROG}: error: cannot open {args.interface}: {exc}{hint}", file=sys.stderr)
        return EXIT_FAILURE
    node = core.MobileNode(
        home_address=args.home_address, mac=interface.mac, spi=args.spi, key=args.key_hex,
        home_agent_address=args.home_agent, lifetime=args.lifetime,
        sequence=secrets.randbelow(0x10000), dhaad_identifier=secrets.randbelow(0x10000),
        route_optimise=args.route_optimise)
    try:
        system.run(node, interface, lambda: bool(stop))
    except (OSError, system.NetlinkError) as exc:
        log.error("%s: %s; stopping", args.interface, exc)
        return EXIT_FAILURE
    finally:
        interface.close()
    log.info("stopped by %s", signal.Signals(stop[0]).name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
