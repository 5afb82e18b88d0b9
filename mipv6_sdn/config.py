"""Controller configuration: one TOML file, checked completely at start.

Every error is a :class:`ConfigError` whose message names the offending key, e.g.
``link[2].prefix: overlaps link[0].prefix 2001:db8:1::/64``. The schema is documented in
docs/configuration.md.
"""
import dataclasses
import enum
import hashlib
import hmac
import ipaddress
import re
import tomllib

from mipv6_sdn import mobility

ROUTER_MAC = "02:00:00:00:00:01"
ROUTER_LINK_LOCAL = ipaddress.IPv6Address("fe80::1")
FIRST_LABEL = 16  # RFC 3032 §2.1: labels 0-15 are reserved

# RFC 4861 §6.2.1 and RFC 6275 §7.5 bounds of MaxRtrAdvInterval (seconds).
MIN_MAX_RTR_ADV_INTERVAL = 0.07
MAX_MAX_RTR_ADV_INTERVAL = 1800.0
MIN_MIN_RTR_ADV_INTERVAL = 0.03
MAX_RA_DELAY_TIME = 0.5  # RFC 4861 §10: the most an answer to a Router Solicitation waits
IPV6_MIN_MTU = 1280  # RFC 8200 §5
DEFAULT_JOURNAL = "/var/lib/mipv6-sdn/bindings.sqlite"

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_DPID_HEX_RE = re.compile(r"^[0-9a-fA-F]{16}$")
_DPID_COLON_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){7}$")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the key."""


@dataclasses.dataclass(frozen=True)
class Link:
    """One access link: a switch whose host ports form one IPv6 link."""
    name: str
    dpid: int
    prefix: ipaddress.IPv6Network
    router: ipaddress.IPv6Address
    label: int
    ports: frozenset | None = None
    home_agent: ipaddress.IPv6Address | None = None
    trusted_ports: frozenset = frozenset()  # host ports whose sources are not validated

    @property
    def is_home_link(self):
        return self.home_agent is not None


@dataclasses.dataclass(frozen=True)
class Config:
    links: tuple
    router_mac: str = ROUTER_MAC
    mtu: int = 1496
    ra_interval: float = 10.0
    ra_min_interval: float = 3.3
    router_lifetime: int = 1800
    prefix_valid_lifetime: int = 86400
    prefix_preferred_lifetime: int = 14400
    ns_retransmit: float = 1.0
    ns_attempts: int = 3
    ra_on_attachment: bool = True  # an RA at once when a host port comes up
    ra_solicited_delay: float = 0.0  # s, the most an answer to an RS waits (RFC 4861 §6.2.6)
    home_agent: "HomeAgentConfig" = None
    mobile_nodes: tuple = ()
    journal: str = DEFAULT_JOURNAL  # SQLite file of the binding journal
    route_optimisation: "RouteOptimisationConfig" = None
    source_validation: "SourceValidationConfig" = None
    flood_protection: "FloodProtectionConfig" = None
    web: "WebConfig" = None
    network_handover: "NetworkHandoverConfig" = None


@dataclasses.dataclass(frozen=True)
class WebConfig:
    """The web view, event stream, REST and metrics (docs/web.md)."""
    admin_token: str = dataclasses.field(default="", repr=False)  # "": no admin actions
    allowed_hosts: tuple = ()  # Host header values accepted beside the loopback names


@dataclasses.dataclass(frozen=True)
class FloodProtectionConfig:
    """OpenFlow meters on every path to the controller (docs/security.md, "Floods")."""
    enabled: bool = True
    port_rate: int = 500     # packets per second to the controller from one host port
    port_burst: int = 100    # packets
    shared_rate: int = 5000  # per switch, for what reaches the controller from trunks
    queue_per_port: int = 64  # packet-ins waiting in the controller per port


@dataclasses.dataclass(frozen=True)
class SourceValidationConfig:
    """Source address validation at every access port (FCFS SAVI, RFC 6620)."""
    enabled: bool = True
    max_addresses_per_port: int = 16  # bound addresses per port: the table can't be filled
    probe_timeout: float = 0.5  # RFC 6620 TENT_LT: a probe unanswered this long binds


@dataclasses.dataclass(frozen=True)
class NetworkHandoverConfig:
    """Network-triggered handover (mipv6_sdn/network_handover.py, docs/security.md);
    off by default: on the reference network it measures no better (docs/pipeline.md)."""
    enabled: bool = False
    window: float = 0.5        # s: detachment to first frame, and redirect to its BU
    min_interval: float = 1.0  # s between two redirects of one mobile node


@dataclasses.dataclass(frozen=True)
class HomeAgentConfig:
    """Home Agent policy (RFC 6275 §10, RFC 4285)."""
    max_binding_lifetime: int = 420         # seconds; BAs never grant more
    require_authentication: bool = True     # RFC 4285 MN-HA option and replay protection
    timestamp_skew: float = 7.0             # RFC 4285 §6: accepted clock difference, s
    max_bindings: int = 1_000_000           # beyond this a new binding gets status 130


class RouteOptimisationMode(str, enum.Enum):
    """What the controller does for traffic to an away mobile node (docs/pipeline.md)."""
    OFF = "off"          # triangle routing through the home agent
    RR = "rr"            # correspondent registrations after return routability
    NETWORK = "network"  # rr, and direct paths from every ingress switch by itself


@dataclasses.dataclass(frozen=True)
class RouteOptimisationConfig:
    """The correspondent side (RFC 6275 §9) and route optimisation in the switches."""
    correspondents: tuple = ()  # IPv6Network: the controller is their correspondent node
    mode: RouteOptimisationMode = RouteOptimisationMode.RR
    idle_timeout: int = 60  # network mode: seconds an unused direct path stays
    max_bindings: int = 1_000_000  # correspondent bindings in all; then status 130

    def serves(self, address):
        """Whether the controller answers as correspondent node for ``address``."""
        return self.mode != RouteOptimisationMode.OFF and any(
            address in prefix for prefix in self.correspondents)


@dataclasses.dataclass(frozen=True)
class MobileNode:
    """One mobile node's home address and its MN-HA security association (RFC 4285)."""
    home_address: ipaddress.IPv6Address
    spi: int
    key: bytes = dataclasses.field(repr=False)  # never printed, never logged


_CONTROLLER_KEYS = {
    "router_mac": str, "mtu": int, "ra_interval": (int, float),
    "ra_min_interval": (int, float), "router_lifetime": int,
    "prefix_valid_lifetime": int, "prefix_preferred_lifetime": int,
    "ns_retransmit": (int, float), "ns_attempts": int, "journal": str,
    "ra_on_attachment": bool, "ra_solicited_delay": (int, float),
}
_LINK_KEYS = {"name": str, "dpid": (int, str), "prefix": str, "router": str,
              "ports": list, "home_agent": str, "label": int, "trusted_ports": list}
_LINK_REQUIRED = ("name", "dpid", "prefix")


def parse_dpid(value, key):
    """A dpid from an integer, 16 hex digits, or 8 colon-separated hex bytes."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected an integer or 16 hex digits, got {value!r}")
    if isinstance(value, int):
        dpid = value
    elif _DPID_HEX_RE.match(value):
        dpid = int(value, 16)
    elif _DPID_COLON_RE.match(value):
        dpid = int(value.replace(":", ""), 16)
    else:
        raise ConfigError(
            f"{key}: unknown dpid format {value!r} "
            "(use an integer, 16 hex digits, or 8 colon-separated hex bytes)")
    if not 0 < dpid < 2 ** 64:
        raise ConfigError(f"{key}: dpid {dpid} out of range 1..2^64-1")
    return dpid


def _check_keys(table, allowed, where):
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: unknown key")
        types = allowed[key]
        wants_bool = types is bool
        if isinstance(value, bool) != wants_bool or not isinstance(value, types):
            names = types.__name__ if isinstance(types, type) else " or ".join(
                t.__name__ for t in types)
            raise ConfigError(f"{where}.{key}: expected {names}, got {value!r}")


def _require(table, keys, where):
    for key in keys:
        if key not in table:
            raise ConfigError(f"{where}.{key}: missing")


def _address(value, key):
    try:
        return ipaddress.IPv6Address(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _parse_link(index, table):
    where = f"link[{index}]"
    _check_keys(table, _LINK_KEYS, where)
    _require(table, _LINK_REQUIRED, where)
    try:
        prefix = ipaddress.IPv6Network(table["prefix"])
    except ValueError as exc:
        raise ConfigError(f"{where}.prefix: {exc}") from None
    if prefix.prefixlen != 64:
        raise ConfigError(f"{where}.prefix: {prefix} is not a /64 (SLAAC needs a /64)")
    if not prefix.is_global and not prefix.subnet_of(ipaddress.IPv6Network("2001:db8::/32")):
        raise ConfigError(f"{where}.prefix: {prefix} is not a global unicast prefix")
    router = _address(table.get("router", str(prefix[1])), f"{where}.router")
    if router not in prefix:
        raise ConfigError(f"{where}.router: {router} is not in {prefix}")
    home_agent = None
    if "home_agent" in table:
        home_agent = _address(table["home_agent"], f"{where}.home_agent")
        if home_agent not in prefix:
            raise ConfigError(f"{where}.home_agent: {home_agent} is not in {prefix}")
    ports = _ports(table, "ports", where) if "ports" in table else None
    trusted = _ports(table, "trusted_ports", where) if "trusted_ports" in table \
        else frozenset()
    if ports is not None and not trusted <= ports:
        raise ConfigError(f"{where}.trusted_ports: {sorted(trusted - ports)} not in ports")
    label = table.get("label", FIRST_LABEL + index)
    if not FIRST_LABEL <= label < 2 ** 20:
        raise ConfigError(f"{where}.label: {label} out of range {FIRST_LABEL}..2^20-1")
    return Link(name=table["name"], dpid=parse_dpid(table["dpid"], f"{where}.dpid"),
                prefix=prefix, router=router, label=label, ports=ports,
                home_agent=home_agent, trusted_ports=trusted)


def _ports(table, key, where):
    if not table[key] or not all(isinstance(p, int) and not isinstance(p, bool)
                                 and 0 < p < 0xffffff00 for p in table[key]):
        raise ConfigError(f"{where}.{key}: expected a non-empty list of port numbers")
    return frozenset(table[key])


def _check_unique(links):
    seen = {}
    for index, link in enumerate(links):
        for attr in ("name", "dpid", "label"):
            other = seen.setdefault((attr, getattr(link, attr)), index)
            if other != index:
                raise ConfigError(
                    f"link[{index}].{attr}: {getattr(link, attr)!r} already used by link[{other}]")
        for other_index, other in enumerate(links[:index]):
            if link.prefix.overlaps(other.prefix):
                raise ConfigError(
                    f"link[{index}].prefix: overlaps link[{other_index}].prefix {other.prefix}")


_HOME_AGENT_KEYS = {"max_binding_lifetime": int, "require_authentication": bool,
                    "timestamp_skew": (int, float), "max_bindings": int}
_MOBILE_NODE_KEYS = {"home_address": str, "spi": int, "key": str}
_MOBILE_RANGE_KEYS = {"first_home_address": str, "count": int, "first_spi": int,
                      "secret": str}


def _hex_key(value, key):
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ConfigError(f"{key}: not a hexadecimal string") from None
    if len(raw) < 16:
        raise ConfigError(f"{key}: at least 16 octets (32 hex digits) are needed")
    return raw


def derived_key(secret, home_address):
    """The key of a mobile node of a range: HMAC-SHA1(secret, home address)."""
    return hmac.new(secret, home_address.packed, hashlib.sha1).digest()


def _check_spi(spi, key):
    if not mobility.MIN_SPI <= spi < 2 ** 32:
        raise ConfigError(f"{key}: {spi} out of range {mobility.MIN_SPI}..2^32-1")


def _parse_mobile_nodes(data, links):
    homes = [link for link in links if link.is_home_link]
    nodes = []
    for index, table in enumerate(data.get("mobile_node", [])):
        where = f"mobile_node[{index}]"
        _check_keys(table, _MOBILE_NODE_KEYS, where)
        _require(table, _MOBILE_NODE_KEYS, where)
        _check_spi(table["spi"], f"{where}.spi")
        nodes.append(MobileNode(_address(table["home_address"], f"{where}.home_address"),
                                table["spi"], _hex_key(table["key"], f"{where}.key")))
    for index, table in enumerate(data.get("mobile_node_range", [])):
        where = f"mobile_node_range[{index}]"
        _check_keys(table, _MOBILE_RANGE_KEYS, where)
        _require(table, _MOBILE_RANGE_KEYS, where)
        first = _address(table["first_home_address"], f"{where}.first_home_address")
        count, secret = table["count"], _hex_key(table["secret"], f"{where}.secret")
        if not 0 < count <= 1_000_000:
            raise ConfigError(f"{where}.count: {count} out of range 1..1000000")
        _check_spi(table["first_spi"], f"{where}.first_spi")
        _check_spi(table["first_spi"] + count - 1, f"{where}.count")
        nodes += [MobileNode(first + i, table["first_spi"] + i, derived_key(secret, first + i))
                  for i in range(count)]
    seen_homes, seen_spis, seen_owners = set(), set(), {}
    for node in nodes:
        # A binding's rules carry the low 56 bits of its home address in their cookie.
        owner = int(node.home_address) & ((1 << 56) - 1)
        if seen_owners.setdefault(owner, node.home_address) != node.home_address:
            raise ConfigError(f"mobile_node: home addresses {seen_owners[owner]} and "
                              f"{node.home_address} share their low 56 bits (rule cookies)")
        if not any(node.home_address in link.prefix for link in homes):
            raise ConfigError(f"mobile_node: {node.home_address} is not in the prefix of a "
                              "home link (a [[link]] with home_agent)")
        if node.home_address in seen_homes or node.spi in seen_spis:
            raise ConfigError(f"mobile_node: home address {node.home_address} or SPI "
                              f"{node.spi} is configured twice")
        seen_homes.add(node.home_address)
        seen_spis.add(node.spi)
    return tuple(nodes)


_ROUTE_OPTIMISATION_KEYS = {"correspondents": list, "mode": str, "idle_timeout": int,
                            "max_bindings": int}


def _parse_route_optimisation(table, links, mobile_nodes):
    _check_keys(table, _ROUTE_OPTIMISATION_KEYS, "route_optimisation")
    where = "route_optimisation.correspondents"
    prefixes = []
    for i, value in enumerate(table.get("correspondents", [])):
        try:
            prefix = ipaddress.IPv6Network(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}[{i}]: {exc}") from None
        if not any(prefix.subnet_of(link.prefix) for link in links):
            raise ConfigError(f"{where}[{i}]: {prefix} is not inside an access link's "
                              "prefix (its route-optimised rules need its switch)")
        mobile = next((n.home_address for n in mobile_nodes
                       if n.home_address in prefix), None)
        if mobile is not None:
            raise ConfigError(f"{where}[{i}]: {prefix} holds the home address {mobile} "
                              "of a mobile node (docs/configuration.md)")
        prefixes.append(prefix)
    try:
        mode = RouteOptimisationMode(table.get("mode", RouteOptimisationMode.RR.value))
    except ValueError:
        raise ConfigError(f"route_optimisation.mode: {table['mode']!r} is not one of "
                          "\"off\", \"rr\", \"network\"") from None
    idle_timeout = table.get("idle_timeout", RouteOptimisationConfig.idle_timeout)
    if not 1 <= idle_timeout <= 0xFFFF:
        raise ConfigError("route_optimisation.idle_timeout: out of range 1..65535 "
                          "(OpenFlow 1.3 idle_timeout is 16 bits)")
    max_bindings = table.get("max_bindings", RouteOptimisationConfig.max_bindings)
    if max_bindings < 1:
        raise ConfigError("route_optimisation.max_bindings: at least 1")
    return RouteOptimisationConfig(tuple(prefixes), mode, idle_timeout, max_bindings)


_FLOOD_PROTECTION_KEYS = {"enabled": bool, "port_rate": int, "port_burst": int,
                          "shared_rate": int, "queue_per_port": int}


def _parse_flood_protection(table):
    _check_keys(table, _FLOOD_PROTECTION_KEYS, "flood_protection")
    config = FloodProtectionConfig(**table)
    for key in ("port_rate", "port_burst", "shared_rate", "queue_per_port"):
        if not 1 <= getattr(config, key) <= 10_000_000:
            raise ConfigError(f"flood_protection.{key}: out of range 1..10000000")
    return config


_WEB_KEYS = {"admin_token": str, "allowed_hosts": list}
MIN_ADMIN_TOKEN = 16  # characters: guessing one is not an attack worth considering


def _parse_web(table):
    _check_keys(table, _WEB_KEYS, "web")
    token = table.get("admin_token", "")
    if token and (len(token) < MIN_ADMIN_TOKEN or not token.isprintable() or " " in token):
        raise ConfigError(f"web.admin_token: at least {MIN_ADMIN_TOKEN} printable "
                          "characters without spaces (or none, for no admin actions)")
    hosts = table.get("allowed_hosts", [])
    for index, host in enumerate(hosts):
        if not isinstance(host, str) or not host or any(c in host for c in " /\\@"):
            raise ConfigError(f"web.allowed_hosts[{index}]: a host or host:port, got {host!r}")
    return WebConfig(token, tuple(host.lower() for host in hosts))


_SOURCE_VALIDATION_KEYS = {"enabled": bool, "max_addresses_per_port": int,
                           "probe_timeout": (int, float)}


def _parse_source_validation(table):
    _check_keys(table, _SOURCE_VALIDATION_KEYS, "source_validation")
    config = SourceValidationConfig(**table)
    if not 1 <= config.max_addresses_per_port <= 4096:
        raise ConfigError("source_validation.max_addresses_per_port: out of range 1..4096")
    if not 0.05 <= config.probe_timeout <= 10:
        raise ConfigError("source_validation.probe_timeout: out of range 0.05..10 s")
    return dataclasses.replace(config, probe_timeout=float(config.probe_timeout))


_NETWORK_HANDOVER_KEYS = {"enabled": bool, "window": (int, float),
                          "min_interval": (int, float)}


def _parse_network_handover(table):
    _check_keys(table, _NETWORK_HANDOVER_KEYS, "network_handover")
    config = NetworkHandoverConfig(**table)
    if not 0.05 <= config.window <= 10:
        raise ConfigError("network_handover.window: out of range 0.05..10 s")
    if not config.window <= config.min_interval <= 3600:
        raise ConfigError("network_handover.min_interval: out of range window..3600 s "
                          "(one redirect per window at most)")
    return dataclasses.replace(config, window=float(config.window),
                               min_interval=float(config.min_interval))


def parse_config(data):
    """A :class:`Config` from the parsed TOML document ``data`` (a dict)."""
    _check_keys(data, {"controller": dict, "link": list, "home_agent": dict,
                       "mobile_node": list, "mobile_node_range": list,
                       "route_optimisation": dict, "source_validation": dict,
                       "flood_protection": dict, "web": dict, "network_handover": dict},
                 "config")
    values = _parse_controller(data.get("controller", {}))
    if "link" not in data or not data["link"]:
        raise ConfigError("link: missing (at least one [[link]] is needed)")
    links = tuple(_parse_link(i, t) for i, t in enumerate(data["link"]))
    _check_unique(links)
    mobile_nodes = _parse_mobile_nodes(data, links)
    route_optimisation = _parse_route_optimisation(data.get("route_optimisation", {}),
                                                   links, mobile_nodes)
    return Config(links=links, home_agent=_parse_home_agent(data.get("home_agent", {})),
                  mobile_nodes=mobile_nodes, route_optimisation=route_optimisation,
                  source_validation=_parse_source_validation(
                      data.get("source_validation", {})),
                  flood_protection=_parse_flood_protection(
                      data.get("flood_protection", {})),
                  web=_parse_web(data.get("web", {})),
                  network_handover=_parse_network_handover(data.get("network_handover", {})),
                  **values)


def _parse_controller(controller):
    """The checked keys of the [controller] table, with defaults derived."""
    _check_keys(controller, _CONTROLLER_KEYS, "controller")
    values = dict(controller)
    mac = values.get("router_mac", ROUTER_MAC).lower()
    if not _MAC_RE.match(mac) or int(mac[:2], 16) & 1:
        raise ConfigError(f"controller.router_mac: {mac!r} is not a unicast MAC address")
    values["router_mac"] = mac
    mtu = values.get("mtu", Config.mtu)
    if not IPV6_MIN_MTU <= mtu <= 65535:
        raise ConfigError(f"controller.mtu: {mtu} out of range {IPV6_MIN_MTU}..65535")
    max_interval = float(values.get("ra_interval", Config.ra_interval))
    if not MIN_MAX_RTR_ADV_INTERVAL <= max_interval <= MAX_MAX_RTR_ADV_INTERVAL:
        raise ConfigError(f"controller.ra_interval: {max_interval} out of range "
                          f"{MIN_MAX_RTR_ADV_INTERVAL}..{MAX_MAX_RTR_ADV_INTERVAL}")
    values["ra_interval"] = max_interval
    # RFC 4861 §6.2.1: MinRtrAdvInterval defaults to 0.33 * MaxRtrAdvInterval.
    min_interval = float(values.get("ra_min_interval", max(
        MIN_MIN_RTR_ADV_INTERVAL, 0.33 * max_interval)))
    if not MIN_MIN_RTR_ADV_INTERVAL <= min_interval <= 0.75 * max_interval:
        raise ConfigError(f"controller.ra_min_interval: {min_interval} out of range "
                          f"{MIN_MIN_RTR_ADV_INTERVAL}..0.75*ra_interval")
    values["ra_min_interval"] = min_interval
    solicited_delay = float(values.get("ra_solicited_delay", Config.ra_solicited_delay))
    if not 0 <= solicited_delay <= MAX_RA_DELAY_TIME:
        raise ConfigError(f"controller.ra_solicited_delay: {solicited_delay} out of range "
                          f"0..{MAX_RA_DELAY_TIME}")
    values["ra_solicited_delay"] = solicited_delay
    # RFC 4861 §6.2.1: AdvDefaultLifetime at least MaxRtrAdvInterval, at most 9000 s.
    lifetime = values.get("router_lifetime", max(1800, int(3 * max_interval)))
    if not max_interval <= lifetime <= 9000:
        raise ConfigError(f"controller.router_lifetime: {lifetime} out of range "
                          "ra_interval..9000")
    values["router_lifetime"] = lifetime
    valid = values.get("prefix_valid_lifetime", Config.prefix_valid_lifetime)
    preferred = values.get("prefix_preferred_lifetime", Config.prefix_preferred_lifetime)
    if not 0 <= preferred <= valid <= 0xffffffff:
        raise ConfigError("controller.prefix_preferred_lifetime: must be between 0 and "
                          "prefix_valid_lifetime")
    return values


def _parse_home_agent(table):
    """The checked [home_agent] table."""
    _check_keys(table, _HOME_AGENT_KEYS, "home_agent")
    home_agent = HomeAgentConfig(**table)
    if not 4 <= home_agent.max_binding_lifetime <= 4 * 0xFFFF:
        raise ConfigError("home_agent.max_binding_lifetime: out of range 4..262140 "
                          "(RFC 6275 §6.1.7: units of 4 s in 16 bits)")
    if not 0 < home_agent.timestamp_skew <= 3600:
        raise ConfigError("home_agent.timestamp_skew: out of range 0..3600")
    if home_agent.max_bindings < 1:
        raise ConfigError("home_agent.max_bindings: at least 1")
    return home_agent


def load_config(path):
    """Read and check the TOML file at ``path``."""
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data)
