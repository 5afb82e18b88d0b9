"""Return routability with one correspondent (RFC 6275 §5.2, §11.6): the Home and
Care-of Test Init messages, their retransmission, and the keygen tokens their tests
bring back, from which the binding management key of a registration is made.

A home keygen token serves for MAX_TOKEN_LIFETIME after it arrived, whatever the
care-of address; a care-of keygen token as long, for its own care-of address only
(§5.2.7). So after a handover only the care-of address is tested again while the home
token is fresh.
"""
import dataclasses
import enum
import hmac
import ipaddress

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.mn.signalling import Backoff


class Which(enum.Enum):
    """The address a test checks: the home address or the care-of address."""
    HOME = "home"
    CARE_OF = "care-of"


_INIT = {Which.HOME: mobility.HomeTestInit, Which.CARE_OF: mobility.CareofTestInit}
_ANSWERS = {mobility.HomeTest: Which.HOME, mobility.CareofTest: Which.CARE_OF}
INIT_NAMES = {Which.HOME: "HoTI", Which.CARE_OF: "CoTI"}
_TESTED = {init: which for which, init in _INIT.items()}


@dataclasses.dataclass(frozen=True)
class KeygenToken:
    """A keygen token of a Home or Care-of Test (RFC 6275 §5.2.5) for ``address``."""
    address: ipaddress.IPv6Address
    nonce_index: int
    token: bytes
    received: float

    def usable(self, now, address):
        """RFC 6275 §5.2.7: made for ``address``, and less than MAX_TOKEN_LIFETIME old."""
        return address == self.address and now - self.received < mobility.MAX_TOKEN_LIFETIME


@dataclasses.dataclass
class Test:
    """A Home or Care-of Test Init waiting for its test (RFC 6275 §11.6.1): sent from
    ``address`` (where the test comes back to) with ``cookie``, the same cookie in every
    retransmission so that the test of any of them counts."""
    address: ipaddress.IPv6Address
    cookie: bytes
    backoff: Backoff
    sent: int = 0


class ReturnRoutability:
    """The tests outstanding with ``correspondent`` and the tokens they brought."""

    def __init__(self, correspondent, random_bytes):
        """``random_bytes(n)``: n random octets, for the init cookies (RFC 6275 §5.2.3)."""
        self.correspondent = correspondent
        self.random_bytes = random_bytes
        self.tests = {}  # Which -> Test
        self.tokens = {}  # Which -> KeygenToken

    def binding_keys(self, now, home_address, care_of):
        """(Kbm, NonceIndices) for a Binding Update of ``care_of`` (RFC 6275 §5.2.5,
        §5.2.6), or None after starting the tests it misses. A deregistration from home
        (``care_of`` the home address) needs the home token only, Kbm = SHA1(home
        token), and sends the home nonce index in both places (§11.7.2)."""
        wanted = [(Which.HOME, home_address)]
        if care_of != home_address:
            wanted.append((Which.CARE_OF, care_of))
        tokens = []
        for which, address in wanted:
            token = self.tokens.get(which)
            if token is None or not token.usable(now, address):
                self._start(now, which, address)
                token = None
            tokens.append(token)
        if None in tokens:
            return None
        home, careof = tokens[0], tokens[-1]
        kbm = mobility.binding_management_key(
            home.token, careof.token if careof is not home else None)
        return kbm, mobility.NonceIndices(home.nonce_index, careof.nonce_index)

    def due(self, now):
        """(which, IPv6 packet, retransmission number) of each Test Init due: at once,
        then after INITIAL_BINDACK_TIMEOUT doubling up to MAX_BINDACK_TIMEOUT (RFC 6275
        §11.8). The Home Test Init goes from the home address, without a Home Address
        option; the Care-of Test Init from the care-of address (§11.6.1)."""
        out = []
        for which, test in self.tests.items():
            if now < test.backoff.next_send:
                continue
            test.backoff.sent(now)
            test.sent += 1
            mh = mobility.serialize_mobility_header(_INIT[which](cookie=test.cookie),
                                                    test.address, self.correspondent)
            out.append((which, packets.ipv6(test.address, self.correspondent,
                                            wire.IPPROTO_MH, mh), test.sent - 1))
        return out

    def accept(self, now, meta, message):
        """RFC 6275 §11.6.2: keep the token of a Home or Care-of Test from the
        correspondent, straight to the address tested (no routing header), with the
        cookie of the outstanding init; which test it answered, or None."""
        which = _ANSWERS.get(type(message))
        test = self.tests.get(which)
        if test is None or meta.ip_src != self.correspondent or meta.ip_dst != test.address \
                or meta.routing_home_address is not None \
                or not hmac.compare_digest(message.cookie, test.cookie):
            return None
        del self.tests[which]
        self.tokens[which] = KeygenToken(test.address, message.nonce_index,
                                         message.keygen_token, now)
        return which

    def outstanding(self, quoted, message):
        """Whether ``quoted`` (the PacketMeta of the Home or Care-of Test Init
        ``message``, quoted in an error) is an init outstanding: from the address tested,
        without a Home Address option, to the correspondent, with its cookie."""
        test = self.tests.get(_TESTED.get(type(message)))
        return test is not None and quoted.ip_src == test.address \
            and quoted.ip_dst == self.correspondent and quoted.home_address_option is None \
            and hmac.compare_digest(message.cookie, test.cookie)

    def forget(self, which):
        """Drop the token and test of ``which``: the correspondent no longer has its
        nonce (RFC 6275 §11.7.3), or the care-of address changed."""
        self.tests.pop(which, None)
        self.tokens.pop(which, None)

    def stop(self):
        """No test outstanding any more; the tokens stay for as long as they last."""
        self.tests.clear()

    def _start(self, now, which, address):
        """Test ``address`` with a new random cookie, unless it is being tested."""
        test = self.tests.get(which)
        if test is None or test.address != address:
            self.tests[which] = Test(address, self.random_bytes(mobility.COOKIE_LEN),
                                     Backoff(next_send=now))
