"""Return routability at the correspondent node (RFC 6275 §5.2): Kcn, nonces with their
indices, and keygen tokens.

One secret serves every correspondent the controller acts for: the Kcn of correspondent
C is First(160, HMAC_SHA1(Kcn, C)), so tokens from one correspondent are worth nothing
at another. A new nonce is made every NONCE_INTERVAL, so a token handed out with the
current nonce is accepted for at least MAX_TOKEN_LIFETIME (§5.2.3) while its nonce
lives MAX_NONCE_LIFETIME; Kcn is replaced every KCN_LIFETIME, and each nonce remembers
the Kcn it was issued under. Kcn and the nonces are kept in the store before a token
made from them leaves, so after a restart old indices are still recognised and new
ones never collide with them (docs/architecture.md).
"""
import dataclasses
import hashlib
import hmac
import json

from mipv6_sdn import mobility

KCN_LEN = 20  # RFC 6275 §5.2.1: Kcn is 20 octets
NONCE_LEN = 8  # §5.2.2 leaves the size open; 64 bits, as the cookies and tokens
INDEX_MODULUS = 2 ** 16  # §6.2.6: nonce indices are 16 bits
# §5.2.3: a token is accepted MAX_TOKEN_LIFETIME after it was sent, the nonce lives
# MAX_NONCE_LIFETIME: a fresh nonce at least this often keeps both promises.
NONCE_INTERVAL = mobility.MAX_NONCE_LIFETIME - mobility.MAX_TOKEN_LIFETIME
KCN_LIFETIME = 8 * NONCE_INTERVAL  # §5.2.1: Kcn is regenerated from time to time
STATE_KEY = "return_routability"  # its key in the store, beside the correspondents' caches


@dataclasses.dataclass(frozen=True)
class Nonce:
    index: int
    value: bytes
    kcn: bytes
    created: float


class ReturnRoutability:
    """Nonces by index and the current Kcn; ``save(bytes)`` keeps the state."""

    def __init__(self, rng, save):
        self.rng = rng
        self.save = save
        self.kcn = None
        self.kcn_created = None
        self.nonces = {}  # index -> Nonce, the live ones
        self.next_index = rng.randrange(INDEX_MODULUS)

    def _random(self, size):
        return self.rng.randbytes(size)

    def current(self, now):
        """The nonce to hand out now; makes a new one (and Kcn) when due."""
        newest = self.nonces.get((self.next_index - 1) % INDEX_MODULUS)
        if newest is not None and now - newest.created < NONCE_INTERVAL:
            return newest
        kept = (self.kcn, self.kcn_created, dict(self.nonces), self.next_index)
        if self.kcn is None or now - self.kcn_created >= KCN_LIFETIME:
            self.kcn, self.kcn_created = self._random(KCN_LEN), now
        self.expire(now)
        nonce = Nonce(self.next_index, self._random(NONCE_LEN), self.kcn, now)
        self.nonces[nonce.index] = nonce
        self.next_index = (self.next_index + 1) % INDEX_MODULUS
        try:
            self.save(self._encode())  # kept before any token made from it leaves
        except Exception:
            self.kcn, self.kcn_created, self.nonces, self.next_index = kept
            raise
        return nonce

    def expire(self, now):
        for index, nonce in list(self.nonces.items()):
            if now - nonce.created > mobility.MAX_NONCE_LIFETIME:
                del self.nonces[index]

    def recognised(self, now, index):
        """The nonce of ``index`` if it is still remembered (§5.2.3, §9.5.1), else None."""
        nonce = self.nonces.get(index)
        if nonce is None or now - nonce.created > mobility.MAX_NONCE_LIFETIME:
            return None
        return nonce

    @staticmethod
    def token(nonce, correspondent, address, which):
        """The home (``which`` = HOME_TOKEN) or care-of keygen token of ``address`` at
        ``correspondent`` under ``nonce`` (§5.2.5)."""
        kcn = hmac.new(nonce.kcn, correspondent.packed, hashlib.sha1).digest()
        return mobility.keygen_token(kcn, address, nonce.value, which)

    # ------------------------------------------------------------------ persistence

    def _encode(self):
        return json.dumps({
            "kcn": self.kcn.hex(), "kcn_created": self.kcn_created,
            "next_index": self.next_index,
            "nonces": [[n.index, n.value.hex(), n.kcn.hex(), n.created]
                       for n in self.nonces.values()]}).encode()

    def load(self, now, value):
        """Take over the state a previous run saved (``value`` from the store)."""
        state = json.loads(value)
        self.kcn, self.kcn_created = bytes.fromhex(state["kcn"]), state["kcn_created"]
        self.next_index = state["next_index"]
        self.nonces = {index: Nonce(index, bytes.fromhex(value), bytes.fromhex(kcn), created)
                       for index, value, kcn, created in state["nonces"]}
        self.expire(now)
