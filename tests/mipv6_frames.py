"""Mobile IPv6 signalling built with Scapy, independently of our codec.

The RFC 4285 authenticator is computed here from the RFC's definition with the hmac
module, so a mistake in mipv6_sdn.mobility cannot hide in both places. Used by the
unit tests and, inside Mininet hosts, by the integration tests (run as a script).
"""
import hashlib
import hmac
import ipaddress
import sys
import time

from scapy.layers.inet6 import (HAO, IPv6, IPv6ExtHdrDestOpt, MIP6MH_BU, MIP6MH_CoTI,
                                MIP6MH_HoTI, MIP6OptAltCoA, MIP6OptBindingAuthData,
                                MIP6OptMsgAuth, MIP6OptNonceIndices, MIP6OptReplayProtection,
                                in6_chksum)
from scapy.layers.l2 import Ether
from scapy.packet import Raw

ROUTER_MAC = "02:00:00:00:00:01"
MN1_MAC = "00:00:00:00:01:00"
MN1_HOME = "2001:db8:1::100"
HOME_AGENT = "2001:db8:1::1"
MN1_SPI = 256
MN1_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f10111213")
NTP_UNIX_OFFSET = 2_208_988_800


def ntp(unix_time):
    """RFC 4285 §6 timestamp: 64-bit NTP format."""
    return int((unix_time + NTP_UNIX_OFFSET) * 2 ** 32)


def rfc4285_authenticator(key, care_of, home, mh_data):
    """RFC 4285 §5.1: First(96, HMAC_SHA1(key, care-of | home | MH data))."""
    data = ipaddress.IPv6Address(care_of).packed + ipaddress.IPv6Address(home).packed + mh_data
    return hmac.new(key, data, hashlib.sha1).digest()[:12]


def sign(mh, key, care_of, home):
    """Fill the authenticator of ``mh``'s last option (MIP6OptMsgAuth), then the checksum."""
    raw = bytearray(bytes(IPv6(src=care_of, dst=home) / mh)[40:])
    raw[4:6] = b"\0\0"  # computed as if the checksum were zero
    mh.options[-1].authdata = rfc4285_authenticator(key, care_of, home, bytes(raw[:-12]))
    return mh


def binding_update(*, care_of, seq, lifetime=420, home=MN1_HOME, ha=HOME_AGENT, flags="AH",
                   spi=MN1_SPI, key=MN1_KEY, timestamp=None, mac=MN1_MAC,
                   authenticate=True, replay=True, alternate_care_of=None, hao=True):
    """An Ethernet frame with a home registration BU from ``care_of`` (RFC 6275 §11.7.1)."""
    options = []
    if alternate_care_of is not None:
        options.append(MIP6OptAltCoA(acoa=alternate_care_of))
    if replay:
        options.append(MIP6OptReplayProtection(
            timestamp=ntp(time.time()) if timestamp is None else timestamp))
    if authenticate:
        options.append(MIP6OptMsgAuth(subtype=1, mspi=spi, authdata=b"\0" * 12))
    mh = MIP6MH_BU(seq=seq, flags=flags, mhtime=lifetime // 4, options=options)
    if authenticate:
        sign_home = home if hao or care_of == home else care_of
        mh = sign(mh, key, alternate_care_of or care_of, sign_home)
    ip = IPv6(src=care_of, dst=ha)
    if hao and care_of != home:
        packet = ip / IPv6ExtHdrDestOpt(options=[HAO(hoa=home)]) / mh
    else:
        packet = ip / mh
    return bytes(Ether(src=mac, dst=ROUTER_MAC) / packet)


def keygen_token(kcn, address, nonce, which):
    """RFC 6275 §5.2.5: First(64, HMAC_SHA1(Kcn, address | nonce | 0 or 1))."""
    data = ipaddress.IPv6Address(address).packed + nonce + bytes([which])
    return hmac.new(kcn, data, hashlib.sha1).digest()[:8]


def kbm(home_token, careof_token=b""):
    """RFC 6275 §5.2.5: SHA1(home keygen token | care-of keygen token)."""
    return hashlib.sha1(home_token + careof_token).digest()


def authorize(mh, kbm_, care_of, correspondent, dst):
    """Fill the Binding Authorization Data of ``mh``'s last option: First(96,
    HMAC_SHA1(Kbm, care-of | correspondent | MH data without the authenticator, checksum
    zero)) (RFC 6275 §6.2.7); ``dst`` is the final destination for the checksum."""
    raw = bytearray(bytes(IPv6(src=care_of, dst=dst) / mh)[40:])
    raw[4:6] = b"\0\0"
    mh.options[-1].authenticator = int.from_bytes(
        rfc4285_authenticator(kbm_, care_of, correspondent, bytes(raw[:-12])), "big")
    return mh


def test_init(kind, *, src, correspondent, cookie, mac=MN1_MAC, home_address_option=None):
    """A Home or Care-of Test Init (``kind`` "home" or "careof") as a mobile node sends it."""
    cls = MIP6MH_HoTI if kind == "home" else MIP6MH_CoTI
    ip = IPv6(src=src, dst=correspondent)
    if home_address_option is not None:
        ip = ip / IPv6ExtHdrDestOpt(options=[HAO(hoa=home_address_option)])
    return bytes(Ether(src=mac, dst=ROUTER_MAC) / ip / cls(cookie=cookie))


def correspondent_binding_update(*, care_of, correspondent, seq, home_index, careof_index,
                                 key, lifetime=420, home=MN1_HOME, flags="A",
                                 mac=MN1_MAC, nonce_indices=True, alternate_care_of=None):
    """A Binding Update to a correspondent (RFC 6275 §11.7.2) authorized with ``key``
    (Kbm); from the home address without HAO when ``care_of`` is the home address; with
    an Alternate Care-of Address option, which the authenticator then covers."""
    # Scapy's default Option Lengths of both options are 16; RFC 6275 §6.2.6 and §6.2.7
    # make them 4 and 12.
    options = [MIP6OptAltCoA(acoa=alternate_care_of)] if alternate_care_of else []
    if nonce_indices:
        options.append(MIP6OptNonceIndices(olen=4, hni=home_index, coni=careof_index))
    options.append(MIP6OptBindingAuthData(olen=12, authenticator=0))
    mh = authorize(MIP6MH_BU(seq=seq, flags=flags, mhtime=lifetime // 4, options=options),
                   key, alternate_care_of or care_of, correspondent, correspondent)
    ip = IPv6(src=care_of, dst=correspondent)
    if care_of != home:
        ip = ip / IPv6ExtHdrDestOpt(options=[HAO(hoa=home)])
    return bytes(Ether(src=mac, dst=ROUTER_MAC) / ip / mh)


def raw_mobility_header(care_of, mh, ha=HOME_AGENT, mac=MN1_MAC):
    """``mh`` (bytes, checksum field zero) with its checksum computed by Scapy."""
    ip = IPv6(src=care_of, dst=ha, nh=135)
    checksum = in6_chksum(135, ip, mh)
    return bytes(Ether(src=mac, dst=ROUTER_MAC) / ip / Raw(
        mh[:4] + checksum.to_bytes(2, "big") + mh[6:]))


def unknown_type(care_of, ha=HOME_AGENT, mac=MN1_MAC):
    """A mobility header of a type RFC 6275 does not define (42)."""
    return raw_mobility_header(care_of, bytes([59, 0, 42, 0, 0, 0, 0, 0]), ha, mac)


def short_binding_update(care_of, ha=HOME_AGENT, mac=MN1_MAC):
    """A BU whose Header Len (0: 8 octets) is shorter than a BU (RFC 6275 §9.2)."""
    return raw_mobility_header(care_of, bytes([59, 0, 5, 0, 0, 0, 0, 1]), ha, mac)


def bad_payload_proto(care_of, seq, ha=HOME_AGENT, mac=MN1_MAC):
    """A BU whose Payload Proto is not 59 (RFC 6275 §9.2: Parameter Problem)."""
    frame = Ether(src=mac, dst=ROUTER_MAC) / IPv6(src=care_of, dst=ha) / MIP6MH_BU(
        seq=seq, flags="AH", mhtime=105)
    frame[MIP6MH_BU].nh = 6
    return bytes(frame)


def main(argv):
    """In a Mininet host: ``MODE IFACE CARE_OF SEQ LIFETIME TIMESTAMP|now`` sends one of
    bu, badkey, unknown-type, bad-proto."""
    from scapy.sendrecv import sendp
    mode, iface, care_of, seq, lifetime, stamp = argv
    timestamp = ntp(time.time()) if stamp == "now" else int(stamp)
    frame = {
        "bu": lambda: binding_update(care_of=care_of, seq=int(seq), lifetime=int(lifetime),
                                     timestamp=timestamp),
        "badkey": lambda: binding_update(care_of=care_of, seq=int(seq),
                                         lifetime=int(lifetime), timestamp=timestamp,
                                         key=bytes(20)),
        "unknown-type": lambda: unknown_type(care_of),
        "bad-proto": lambda: bad_payload_proto(care_of, int(seq)),
    }[mode]()
    sendp(Ether(frame), iface=iface, verbose=False)
    print(timestamp)


if __name__ == "__main__":
    main(sys.argv[1:])
