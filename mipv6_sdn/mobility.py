"""Mobile IPv6 on the wire (RFC 6275 §6): the Mobility Header (MH) and its options, the
Home Address option, the type 2 routing header, and ICMPv6 types 144-147.

Ryu has no Mobility Header and mis-parses these extension headers, so they live here as
pure code. :func:`parse_mobility_header` reads untrusted bytes and raises
:class:`MobilityError`, whose ``kind`` names the reply that RFC 6275 §9.2 owes. It does
not verify the checksum, which needs the pseudo-header:
:func:`mipv6_sdn.packets.parse_frame` does that first and records the result in
``PacketMeta.mobility`` or ``PacketMeta.mobility_error``.

Parsed messages list their options in order without Pad1 and PadN; unrecognised option
types are kept as :class:`UnknownOption` (§6.2.1: skipped, not rejected). Builders
return bytes: a whole MH with its options aligned (§6.2, RFC 4283 §3, RFC 4285 §5-6),
padded to a multiple of 8 octets and its checksum filled in; an extension header; or an
ICMPv6 body for :func:`mipv6_sdn.packets.icmpv6`.

It also holds what both ends of home registration share: the Binding Acknowledgement
and Binding Error status codes, lifetimes, RFC 4285 timestamps, SPIs and the MN-HA
authentication check, and the home-agents anycast address. It imports only
:mod:`mipv6_sdn.wire`.
"""
import dataclasses
import hashlib
import hmac
import ipaddress
import struct
import typing

from mipv6_sdn import wire

# RFC 6275 §6.1: MH Type values.
BRR = 0
HOTI = 1
COTI = 2
HOT = 3
COT = 4
BU = 5
BA = 6
BE = 7

# RFC 6275 §6.2 mobility option types; RFC 4283 §3 and RFC 4285 §5, §6 additions.
PAD1 = 0
PADN = 1
OPT_BRA = 2
OPT_ACOA = 3
OPT_NONCE = 4
OPT_BAD = 5
OPT_MN_ID = 8
OPT_AUTH = 9
OPT_REPLAY = 10

OPT_HOME_ADDRESS = 0xC9  # RFC 6275 §6.3: the Home Address destination option (HAO)
HOME_ADDRESS_ALIGNMENT = (8, 6)  # RFC 6275 §6.3: 8n+6
ROUTING_TYPE_2 = 2  # RFC 6275 §6.4
RH2_HEADER_EXT_LEN = 2  # RFC 6275 §6.4: one address
RH2_SEGMENTS_LEFT = 1  # RFC 6275 §6.4

# RFC 6275 §6.5-6.8: ICMPv6 types for home agent and mobile prefix discovery.
HAAD_REQUEST = 144
HAAD_REPLY = 145
MPS = 146
MPA = 147
DISCOVERY_TYPES = (HAAD_REQUEST, HAAD_REPLY, MPS, MPA)
MPA_FLAG_MANAGED = 0x8000  # RFC 6275 §6.8 M
MPA_FLAG_OTHER = 0x4000  # RFC 6275 §6.8 O

MN_ID_SUBTYPE_NAI = 1  # RFC 4283 §3
AUTH_SUBTYPE_MN_HA = 1  # RFC 4285 §5
AUTHENTICATOR_LEN = 12  # RFC 4285 §5.1: First(96, HMAC_SHA1(...))
BAD_AUTHENTICATOR_LEN = 12  # RFC 6275 §5.2.6: First(96, HMAC_SHA1(Kbm, ...))
COOKIE_LEN = 8  # RFC 6275 §6.1.3-6.1.6: init cookies and keygen tokens are 64 bits
HOME_TOKEN = 0  # RFC 6275 §5.2.5: the last octet hashed into the home keygen token
CAREOF_TOKEN = 1  # and into the care-of keygen token

# RFC 6275 §6.1.1: Payload Proto, Header Len, MH Type, Reserved, Checksum.
MH_HEADER_LEN = 6
PAYLOAD_PROTO_OFFSET = 0
HEADER_LEN_OFFSET = 1
CHECKSUM_OFFSET = 4
MH_MAX_LEN = 256 * 8  # Header Len is one octet of 8-octet units, not counting the first 8

BU_FLAG_ACK = 0x8000  # RFC 6275 §6.1.7 A
BU_FLAG_HOME = 0x4000  # H
BU_FLAG_LINK_LOCAL = 0x2000  # L
BU_FLAG_KEY_MANAGEMENT = 0x1000  # K
BA_FLAG_KEY_MANAGEMENT = 0x80  # RFC 6275 §6.1.8 K

# RFC 6275 §6.1.8 Binding Acknowledgement status; RFC 4285 §8 additions.
ACCEPTED = 0
ACCEPTED_PREFIX_DISCOVERY = 1
REASON_UNSPECIFIED = 128
ADMINISTRATIVELY_PROHIBITED = 129
INSUFFICIENT_RESOURCES = 130
HOME_REGISTRATION_NOT_SUPPORTED = 131
NOT_HOME_SUBNET = 132
NOT_HOME_AGENT_FOR_THIS_MN = 133
DUPLICATE_ADDRESS_DETECTION_FAILED = 134
SEQUENCE_OUT_OF_WINDOW = 135
EXPIRED_HOME_NONCE_INDEX = 136
EXPIRED_CARE_OF_NONCE_INDEX = 137
EXPIRED_NONCES = 138
REGISTRATION_TYPE_CHANGE_DISALLOWED = 139
MIPV6_ID_MISMATCH = 144      # RFC 4285 §6: replay protection timestamp not acceptable
MIPV6_MESG_ID_REQD = 145     # RFC 4285 §6: replay protection option missing
MIPV6_AUTH_FAIL = 146        # RFC 4285 §5: MN-HA authentication failed or missing

# RFC 6275 §6.1.9 Binding Error status.
BE_UNKNOWN_BINDING_FOR_HAO = 1
BE_UNRECOGNIZED_MH_TYPE = 2

# RFC 6275 §12: return routability constants, seconds.
MAX_NONCE_LIFETIME = 240
MAX_TOKEN_LIFETIME = 210
MAX_RR_BINDING_LIFETIME = 420
LIFETIME_UNIT = 4        # RFC 6275 §6.1.7: BU and BA lifetimes count units of 4 s
MIN_SPI = 256  # RFC 4285 §5: SPI values 0-255 are reserved
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
# RFC 2526 §2: the Mobile IPv6 Home-Agents anycast address of a /64 (anycast ID 0x7e).
HOME_AGENTS_ANYCAST_IID = 0xFDFF_FFFF_FFFF_FFFE


class MobilityError(wire.PacketError):
    """A Mobility Header that breaks RFC 6275. ``kind`` names the broken rule:

    "truncated" (shorter than its Header Len) and "checksum": silently discarded;
    "unknown_type": Binding Error status 2 (§9.2), the type is in ``mh_type``;
    "payload_proto", "header_len": ICMPv6 Parameter Problem code 0 (§9.2), ``pointer``
    is the offset of the field in octets from the start of the IPv6 header;
    "option": a malformed mobility option (§6.2.1), discarded.
    """

    def __init__(self, message, kind, pointer=None, mh_type=None):
        super().__init__(message)
        self.kind = kind
        self.pointer = pointer
        self.mh_type = mh_type


def _octets(value, size, what):
    if len(value) != size:
        raise ValueError(f"{what} must be {size} octets, not {len(value)}")
    return value


def _padding(size):
    """RFC 6275 §6.2.2, §6.2.3 (RFC 8200 §4.2 for destination options): ``size`` octets
    of padding as Pad1 or one PadN."""
    if size == 0:
        return b""
    if size == 1:
        return bytes([PAD1])
    return bytes([PADN, size - 2]) + bytes(size - 2)


def _align(buffer, alignment):
    """Pad ``buffer`` so that the next octet sits at xn+y from its start."""
    x, y = alignment
    buffer += _padding((y - len(buffer)) % x)


# ---------------------------------------------------------------------- options


class _Option:
    """A mobility option: type, length and data (RFC 6275 §6.2.1)."""
    option_type: typing.ClassVar[int]
    alignment: typing.ClassVar[tuple] = (1, 0)  # xn+y from the start of the MH
    data_lengths: typing.ClassVar[range] = range(256)  # valid Option Length values

    def encode(self):
        data = self._pack()
        if len(data) not in self.data_lengths:
            raise ValueError(f"{type(self).__name__}: {len(data)} octets of data")
        return struct.pack("!BB", self.option_type, len(data)) + data


@dataclasses.dataclass(frozen=True)
class Pad1(_Option):
    """RFC 6275 §6.2.2: one octet of padding."""
    option_type: typing.ClassVar[int] = PAD1

    def encode(self):
        return _padding(1)


@dataclasses.dataclass(frozen=True)
class PadN(_Option):
    """RFC 6275 §6.2.3: ``length`` octets of padding in all (2 or more). A parser takes
    no more than 7 octets of padding in a row, alignment padding included."""
    length: int
    option_type: typing.ClassVar[int] = PADN

    def encode(self):
        if self.length < 2:
            raise ValueError("PadN is at least 2 octets")
        return _padding(self.length)


@dataclasses.dataclass(frozen=True)
class BindingRefreshAdvice(_Option):
    """RFC 6275 §6.2.4: the refresh interval, in units of 4 seconds."""
    interval: int
    option_type: typing.ClassVar[int] = OPT_BRA
    alignment: typing.ClassVar[tuple] = (2, 0)
    data_lengths: typing.ClassVar[range] = range(2, 3)

    def _pack(self):
        return struct.pack("!H", self.interval)

    @classmethod
    def _unpack(cls, data):
        return cls(*struct.unpack("!H", data))


@dataclasses.dataclass(frozen=True)
class AlternateCareofAddress(_Option):
    """RFC 6275 §6.2.5."""
    address: ipaddress.IPv6Address
    option_type: typing.ClassVar[int] = OPT_ACOA
    alignment: typing.ClassVar[tuple] = (8, 6)
    data_lengths: typing.ClassVar[range] = range(16, 17)

    def _pack(self):
        return self.address.packed

    @classmethod
    def _unpack(cls, data):
        return cls(ipaddress.IPv6Address(data))


@dataclasses.dataclass(frozen=True)
class NonceIndices(_Option):
    """RFC 6275 §6.2.6: home and care-of nonce indices."""
    home: int
    careof: int
    option_type: typing.ClassVar[int] = OPT_NONCE
    alignment: typing.ClassVar[tuple] = (2, 0)
    data_lengths: typing.ClassVar[range] = range(4, 5)

    def _pack(self):
        return struct.pack("!HH", self.home, self.careof)

    @classmethod
    def _unpack(cls, data):
        return cls(*struct.unpack("!HH", data))


@dataclasses.dataclass(frozen=True)
class BindingAuthorizationData(_Option):
    """RFC 6275 §6.2.7: the 96-bit authenticator of return routability (§5.2.6)."""
    authenticator: bytes
    option_type: typing.ClassVar[int] = OPT_BAD
    alignment: typing.ClassVar[tuple] = (8, 2)
    data_lengths: typing.ClassVar[range] = range(BAD_AUTHENTICATOR_LEN, BAD_AUTHENTICATOR_LEN + 1)

    def _pack(self):
        return self.authenticator

    @classmethod
    def _unpack(cls, data):
        return cls(data)


@dataclasses.dataclass(frozen=True)
class MobileNodeIdentifier(_Option):
    """RFC 4283 §3: an identifier of the mobile node; subtype 1 is an NAI. No alignment
    is imposed on it (as in Scapy)."""
    subtype: int
    identifier: bytes
    option_type: typing.ClassVar[int] = OPT_MN_ID
    data_lengths: typing.ClassVar[range] = range(1, 256)

    def _pack(self):
        return struct.pack("!B", self.subtype) + self.identifier

    @classmethod
    def _unpack(cls, data):
        return cls(data[0], data[1:])


@dataclasses.dataclass(frozen=True)
class MobilityMessageAuthentication(_Option):
    """RFC 4285 §5: subtype (1 = MN-HA), Mobility SPI and authenticator (12 octets for
    HMAC-SHA1-96). It must be the last option of its message."""
    subtype: int
    spi: int
    authenticator: bytes
    option_type: typing.ClassVar[int] = OPT_AUTH
    alignment: typing.ClassVar[tuple] = (4, 1)
    data_lengths: typing.ClassVar[range] = range(5, 256)

    def _pack(self):
        return struct.pack("!BI", self.subtype, self.spi) + self.authenticator

    @classmethod
    def _unpack(cls, data):
        subtype, spi = struct.unpack_from("!BI", data)
        return cls(subtype, spi, data[5:])


@dataclasses.dataclass(frozen=True)
class MobilityMessageReplayProtection(_Option):
    """RFC 4285 §6: a 64-bit timestamp in NTP format."""
    timestamp: int
    option_type: typing.ClassVar[int] = OPT_REPLAY
    alignment: typing.ClassVar[tuple] = (8, 2)
    data_lengths: typing.ClassVar[range] = range(8, 9)

    def _pack(self):
        return struct.pack("!Q", self.timestamp)

    @classmethod
    def _unpack(cls, data):
        return cls(*struct.unpack("!Q", data))


@dataclasses.dataclass(frozen=True)
class UnknownOption(_Option):
    """An option of a type this codec does not know: skipped over and kept (§6.2.1)."""
    option_type: int
    data: bytes

    def _pack(self):
        return self.data


_OPTIONS = {cls.option_type: cls for cls in (
    BindingRefreshAdvice, AlternateCareofAddress, NonceIndices, BindingAuthorizationData,
    MobileNodeIdentifier, MobilityMessageAuthentication, MobilityMessageReplayProtection)}

# RFC 4285 §5: the authentication option ends the MH. Placed at 8n+5, which meets its
# alignment 4n+1, a 12-octet authenticator ends the option on an 8-octet boundary.
_LAST_AUTH_ALIGNMENT = (8, -(7 + AUTHENTICATOR_LEN) % 8)


def _parse_options(raw, start):
    try:
        found = wire.tlv_options(raw, start)
    except wire.PacketError as exc:
        raise MobilityError(str(exc), "option", mh_type=raw[2]) from exc
    options = []
    for offset, option_type, data in found:
        cls = _OPTIONS.get(option_type)
        if cls is None:
            options.append(UnknownOption(option_type, data))
            continue
        x, y = cls.alignment
        if offset % x != y:
            raise MobilityError(f"{cls.__name__} at offset {offset}, not aligned {x}n+{y}",
                                "option", mh_type=raw[2])
        if len(data) not in cls.data_lengths:
            raise MobilityError(f"{cls.__name__} with a length of {len(data)}", "option",
                                mh_type=raw[2])
        options.append(cls._unpack(data))
    return tuple(options)


def find_option(message, option_type):
    """The first option of class ``option_type`` in a parsed ``message``, or None."""
    return next((o for o in message.options if isinstance(o, option_type)), None)


# ---------------------------------------------------------------------- messages


@dataclasses.dataclass(frozen=True)
class BindingRefreshRequest:
    """RFC 6275 §6.1.2."""
    options: tuple = ()
    mh_type: typing.ClassVar[int] = BRR
    fixed_len: typing.ClassVar[int] = 2

    def _pack(self):
        return bytes(2)

    @classmethod
    def _unpack(cls, _data, options):
        return cls(options)


@dataclasses.dataclass(frozen=True)
class _TestInit:
    """Home and Care-of Test Init (RFC 6275 §6.1.3, §6.1.4): Reserved, then the cookie."""
    cookie: bytes
    options: tuple = ()
    fixed_len: typing.ClassVar[int] = 10

    def _pack(self):
        return bytes(2) + _octets(self.cookie, COOKIE_LEN, "cookie")

    @classmethod
    def _unpack(cls, data, options):
        return cls(data[2:10], options)


@dataclasses.dataclass(frozen=True)
class HomeTestInit(_TestInit):
    """RFC 6275 §6.1.3: a 64-bit home init cookie."""
    mh_type: typing.ClassVar[int] = HOTI


@dataclasses.dataclass(frozen=True)
class CareofTestInit(_TestInit):
    """RFC 6275 §6.1.4: a 64-bit care-of init cookie."""
    mh_type: typing.ClassVar[int] = COTI


@dataclasses.dataclass(frozen=True)
class _Test:
    """Home and Care-of Test (RFC 6275 §6.1.5, §6.1.6): nonce index, cookie, token."""
    nonce_index: int
    cookie: bytes
    keygen_token: bytes
    options: tuple = ()
    fixed_len: typing.ClassVar[int] = 18

    def _pack(self):
        return struct.pack("!H", self.nonce_index) + _octets(
            self.cookie, COOKIE_LEN, "cookie") + _octets(self.keygen_token, COOKIE_LEN,
                                                         "keygen token")

    @classmethod
    def _unpack(cls, data, options):
        return cls(struct.unpack_from("!H", data)[0], data[2:10], data[10:18], options)


@dataclasses.dataclass(frozen=True)
class HomeTest(_Test):
    """RFC 6275 §6.1.5: home nonce index, home init cookie and home keygen token."""
    mh_type: typing.ClassVar[int] = HOT


@dataclasses.dataclass(frozen=True)
class CareofTest(_Test):
    """RFC 6275 §6.1.6: care-of nonce index, care-of init cookie and care-of keygen
    token."""
    mh_type: typing.ClassVar[int] = COT


@dataclasses.dataclass(frozen=True)
class BindingUpdate:
    """RFC 6275 §6.1.7; ``lifetime`` in units of 4 seconds, as on the wire."""
    sequence: int
    lifetime: int
    ack: bool = False
    home: bool = False
    link_local: bool = False
    key_management: bool = False
    options: tuple = ()
    mh_type: typing.ClassVar[int] = BU
    fixed_len: typing.ClassVar[int] = 6

    def _pack(self):
        flags = (BU_FLAG_ACK if self.ack else 0) | (BU_FLAG_HOME if self.home else 0) | (
            BU_FLAG_LINK_LOCAL if self.link_local else 0) | (
            BU_FLAG_KEY_MANAGEMENT if self.key_management else 0)
        return struct.pack("!HHH", self.sequence, flags, self.lifetime)

    @classmethod
    def _unpack(cls, data, options):
        sequence, flags, lifetime = struct.unpack_from("!HHH", data)
        return cls(sequence, lifetime, bool(flags & BU_FLAG_ACK), bool(flags & BU_FLAG_HOME),
                   bool(flags & BU_FLAG_LINK_LOCAL), bool(flags & BU_FLAG_KEY_MANAGEMENT),
                   options)


@dataclasses.dataclass(frozen=True)
class BindingAck:
    """RFC 6275 §6.1.8; ``lifetime`` in units of 4 seconds, as on the wire."""
    status: int
    sequence: int
    lifetime: int
    key_management: bool = False
    options: tuple = ()
    mh_type: typing.ClassVar[int] = BA
    fixed_len: typing.ClassVar[int] = 6

    def _pack(self):
        flags = BA_FLAG_KEY_MANAGEMENT if self.key_management else 0
        return struct.pack("!BBHH", self.status, flags, self.sequence, self.lifetime)

    @classmethod
    def _unpack(cls, data, options):
        status, flags, sequence, lifetime = struct.unpack_from("!BBHH", data)
        return cls(status, sequence, lifetime, bool(flags & BA_FLAG_KEY_MANAGEMENT), options)


@dataclasses.dataclass(frozen=True)
class BindingError:
    """RFC 6275 §6.1.9: status and the home address of the offending packet."""
    status: int
    home_address: ipaddress.IPv6Address
    options: tuple = ()
    mh_type: typing.ClassVar[int] = BE
    fixed_len: typing.ClassVar[int] = 18

    def _pack(self):
        return struct.pack("!BB", self.status, 0) + self.home_address.packed

    @classmethod
    def _unpack(cls, data, options):
        return cls(data[0], ipaddress.IPv6Address(data[2:18]), options)


_MESSAGES = {cls.mh_type: cls for cls in (
    BindingRefreshRequest, HomeTestInit, CareofTestInit, HomeTest, CareofTest,
    BindingUpdate, BindingAck, BindingError)}


@dataclasses.dataclass(frozen=True)
class MobilityHeader:
    """A parsed Mobility Header; ``raw`` is the whole MH as received."""
    payload_proto: int
    mh_type: int
    checksum: int
    message: object
    raw: bytes


def mobility_header_length(data):
    """The length of the MH at the start of ``data`` by its Header Len (RFC 6275 §6.1.1);
    MobilityError "truncated" when ``data`` is shorter."""
    if len(data) < HEADER_LEN_OFFSET + 1:
        raise MobilityError("truncated Mobility Header", "truncated")
    length = (data[HEADER_LEN_OFFSET] + 1) * 8
    if length > len(data):
        raise MobilityError("Mobility Header runs past the packet", "truncated")
    return length


def parse_mobility_header(data, offset_in_packet):
    """The :class:`MobilityHeader` at the start of ``data``, which starts
    ``offset_in_packet`` octets into its IPv6 packet. Checks follow RFC 6275 §9.2 in
    order (the checksum is the caller's), then the message's options (§6.2)."""
    raw = bytes(data[:mobility_header_length(data)])
    payload_proto, _, mh_type, _, csum = struct.unpack_from("!BBBBH", raw)
    cls = _MESSAGES.get(mh_type)
    if cls is None:
        raise MobilityError(f"unrecognised MH Type {mh_type}", "unknown_type",
                            mh_type=mh_type)
    if payload_proto != wire.IPPROTO_NONE:
        raise MobilityError(f"MH Payload Proto {payload_proto}, not 59", "payload_proto",
                            offset_in_packet + PAYLOAD_PROTO_OFFSET, mh_type)
    options_start = MH_HEADER_LEN + cls.fixed_len
    if len(raw) < options_start:
        raise MobilityError(f"MH Header Len {raw[HEADER_LEN_OFFSET]} too small for type "
                            f"{mh_type}", "header_len",
                            offset_in_packet + HEADER_LEN_OFFSET, mh_type)
    options = _parse_options(raw, options_start)
    return MobilityHeader(payload_proto, mh_type, csum,
                          cls._unpack(raw[MH_HEADER_LEN:options_start], options), raw)


def authenticator(key, care_of, home, mh_data):
    """RFC 4285 §5.1: First(96, HMAC_SHA1(key, care-of address | home address | MH data)).
    RFC 6275 §6.2.7 computes the Binding Authorization Data the same way, with Kbm and
    the correspondent's address in place of the home address."""
    mobility_data = care_of.packed + home.packed + mh_data
    return hmac.new(key, mobility_data, hashlib.sha1).digest()[:AUTHENTICATOR_LEN]


def serialize_mobility_header(message, src, dst, auth=None, authorization=None):
    """The Mobility Header for ``message``: options aligned, padded to a multiple of 8
    octets, checksum over the pseudo-header of ``src`` and ``dst`` (RFC 6275 §6.1.1: the
    home address and the final destination).

    ``auth=(spi, key, care_of, home)`` appends an MN-HA Mobility Message Authentication
    option as the last option (RFC 4285 §5), its authenticator computed over the MH up
    to and including the SPI with the checksum zero. ``authorization=(kbm, care_of,
    correspondent)`` appends a Binding Authorization Data option as the last option
    (RFC 6275 §6.2.7), computed over the MH without its authenticator, checksum zero."""
    mh = bytearray(MH_HEADER_LEN) + message._pack()
    for option in message.options:
        _align(mh, option.alignment)
        mh += option.encode()
    signed = None
    if auth is not None:
        spi, key, care_of, home = auth
        _align(mh, _LAST_AUTH_ALIGNMENT)
        mh += MobilityMessageAuthentication(AUTH_SUBTYPE_MN_HA, spi,
                                            bytes(AUTHENTICATOR_LEN)).encode()
        signed = (key, care_of, home)
    elif authorization is not None:
        _align(mh, BindingAuthorizationData.alignment)
        mh += BindingAuthorizationData(bytes(BAD_AUTHENTICATOR_LEN)).encode()
        signed = authorization
    else:
        _align(mh, (8, 0))
    if len(mh) > MH_MAX_LEN:
        raise ValueError("Mobility Header longer than Header Len can say")
    mh[:MH_HEADER_LEN] = struct.pack("!BBBBH", wire.IPPROTO_NONE, len(mh) // 8 - 1,
                                     message.mh_type, 0, 0)
    if signed is not None:
        mh[-AUTHENTICATOR_LEN:] = authenticator(*signed, bytes(mh[:-AUTHENTICATOR_LEN]))
    csum = wire.checksum(src, dst, wire.IPPROTO_MH, bytes(mh))
    mh[CHECKSUM_OFFSET:CHECKSUM_OFFSET + 2] = struct.pack("!H", csum)
    return bytes(mh)


def _last_option_signed(mh, option_type, signed_len, key, care_of, peer):
    """Whether the last option of ``mh`` is of ``option_type``, ends the MH, and its
    last 12 octets authenticate the MH up to ``signed_len`` octets into the option
    (checksum zero) for ``key``, ``care_of`` and ``peer``."""
    found = wire.tlv_options(mh.raw, MH_HEADER_LEN + type(mh.message).fixed_len)
    if not found:
        return False
    offset, found_type, data = found[-1]
    if found_type != option_type or offset + 2 + len(data) != len(mh.raw) \
            or len(data) != signed_len - 2 + AUTHENTICATOR_LEN:
        return False  # not the last option, padding after it, or not 12 octets of MAC
    mh_data = bytearray(mh.raw[:offset + signed_len])
    mh_data[CHECKSUM_OFFSET:CHECKSUM_OFFSET + 2] = bytes(2)
    return hmac.compare_digest(data[-AUTHENTICATOR_LEN:],
                               authenticator(key, care_of, peer, bytes(mh_data)))


def verify_authentication(mh, key, care_of, home):
    """RFC 4285 §5: whether ``mh`` ends with a Mobility Message Authentication option
    whose authenticator is right for ``key``, ``care_of`` and ``home``."""
    return _last_option_signed(mh, OPT_AUTH, 7, key, care_of, home)  # up to the SPI


def verify_binding_authorization(mh, kbm, care_of, correspondent):
    """RFC 6275 §6.2.7, §9.5.1: whether ``mh`` ends with Binding Authorization Data
    whose authenticator is right for ``kbm``, ``care_of`` and ``correspondent``."""
    return _last_option_signed(mh, OPT_BAD, 2, kbm, care_of, correspondent)


def keygen_token(kcn, address, nonce, which):
    """RFC 6275 §5.2.5: First(64, HMAC_SHA1(Kcn, address | nonce | which)); ``which`` is
    HOME_TOKEN (0) with the home address, CAREOF_TOKEN (1) with the care-of address."""
    return hmac.new(kcn, address.packed + nonce + bytes([which]),
                    hashlib.sha1).digest()[:COOKIE_LEN]


def binding_management_key(home_token, careof_token=None):
    """RFC 6275 §5.2.5: Kbm = SHA1(home keygen token | care-of keygen token), or
    SHA1(home keygen token) for a deregistration sent from home."""
    return hashlib.sha1(home_token + (careof_token or b"")).digest()


def verify_mn_ha_authentication(mh, spi, key, care_of, home):
    """RFC 4285 §5: whether the last option of ``mh`` is an MN-HA Mobility Message
    Authentication option of ``spi`` whose authenticator is right for ``key``,
    ``care_of`` and ``home``."""
    options = mh.message.options
    auth = options[-1] if options else None
    return isinstance(auth, MobilityMessageAuthentication) \
        and auth.subtype == AUTH_SUBTYPE_MN_HA and auth.spi == spi \
        and verify_authentication(mh, key, care_of, home)


def ntp_timestamp(now):
    """RFC 4285 §6: a 64-bit NTP timestamp for Unix time ``now``."""
    return int((now + NTP_UNIX_OFFSET) * 2 ** 32) & 0xFFFF_FFFF_FFFF_FFFF


def unix_time(timestamp):
    """The Unix time of a 64-bit NTP ``timestamp`` (RFC 4285 §6)."""
    return timestamp / 2 ** 32 - NTP_UNIX_OFFSET


# ---------------------------------------------------------------------- extension headers


def home_address_option(home_address, next_header):
    """RFC 6275 §6.3: a Destination Options header with the Home Address option at its
    alignment 8n+6, padded to 8 octets."""
    header = bytearray(struct.pack("!BB", next_header, 0))
    _align(header, HOME_ADDRESS_ALIGNMENT)
    header += struct.pack("!BB", OPT_HOME_ADDRESS, 16) + home_address.packed
    _align(header, (8, 0))
    header[1] = len(header) // 8 - 1
    return bytes(header)


def type2_routing_header(home_address, next_header):
    """RFC 6275 §6.4: a type 2 routing header carrying ``home_address``."""
    return struct.pack("!BBBB4x", next_header, RH2_HEADER_EXT_LEN, ROUTING_TYPE_2,
                       RH2_SEGMENTS_LEFT) + home_address.packed


# ---------------------------------------------------------------------- ICMPv6 144-147


def home_agents_anycast(prefix):
    """RFC 2526 §2: the Mobile IPv6 Home-Agents anycast address of ``prefix`` (a /64)."""
    return ipaddress.IPv6Address(int(prefix.network_address) | HOME_AGENTS_ANYCAST_IID)


@dataclasses.dataclass(frozen=True)
class DiscoveryMessage:
    """A parsed ICMPv6 message of RFC 6275 §6.5-6.8 (home agent address discovery and
    mobile prefix discovery)."""
    icmp_type: int
    identifier: int
    home_agents: tuple = ()  # HAAD Reply: IPv6Address, in order of preference
    prefixes: tuple = ()  # MPA: (IPv6Network, valid lifetime, preferred lifetime)
    managed: bool = False  # MPA M flag
    other: bool = False  # MPA O flag


def haad_request(identifier):
    """RFC 6275 §6.5: the body of a Home Agent Address Discovery Request."""
    return struct.pack("!HH", identifier, 0)


def haad_reply(identifier, home_agents):
    """RFC 6275 §6.6: the body of a Home Agent Address Discovery Reply."""
    return struct.pack("!HH", identifier, 0) + b"".join(a.packed for a in home_agents)


def mobile_prefix_solicitation(identifier):
    """RFC 6275 §6.7: the body of a Mobile Prefix Solicitation."""
    return struct.pack("!HH", identifier, 0)


def mobile_prefix_advertisement(identifier, prefixes, managed=False, other=False):
    """RFC 6275 §6.8: the body of a Mobile Prefix Advertisement. ``prefixes`` are
    (IPv6Network, valid lifetime, preferred lifetime), sent as Prefix Information
    options with the L and A flags, as in the home link's router advertisements."""
    flags = (MPA_FLAG_MANAGED if managed else 0) | (MPA_FLAG_OTHER if other else 0)
    body = struct.pack("!HH", identifier, flags)
    for prefix, valid, preferred in prefixes:
        body += wire.prefix_information_option(wire.PrefixInformation(
            prefix.prefixlen, wire.PI_FLAG_ON_LINK | wire.PI_FLAG_AUTONOMOUS, valid,
            preferred, prefix.network_address))
    return body


def parse_dhaad_or_mps(icmp_type, body):
    """A :class:`DiscoveryMessage` for an ICMPv6 ``body`` (after type, code and checksum)
    of type 144-147, or PacketError."""
    if len(body) < 4:
        raise wire.PacketError(f"truncated ICMPv6 type {icmp_type}")
    identifier, flags = struct.unpack_from("!HH", body)
    if icmp_type == HAAD_REPLY:
        addresses = body[4:]
        if len(addresses) % 16:
            raise wire.PacketError("HAAD Reply addresses are not whole")
        return DiscoveryMessage(icmp_type, identifier, home_agents=tuple(
            ipaddress.IPv6Address(addresses[i:i + 16]) for i in range(0, len(addresses), 16)))
    if icmp_type == MPA:
        prefixes = []
        for option_type, data in wire.nd_options(body[4:]):
            if option_type == wire.OPT_PREFIX_INFO:
                info = wire.parse_prefix_information(data)
                prefixes.append((info.prefix, info.valid_lifetime, info.preferred_lifetime))
        return DiscoveryMessage(icmp_type, identifier, prefixes=tuple(prefixes),
                                managed=bool(flags & MPA_FLAG_MANAGED),
                                other=bool(flags & MPA_FLAG_OTHER))
    return DiscoveryMessage(icmp_type, identifier)
