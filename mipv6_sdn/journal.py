"""The binding journal: every accepted binding change on disk before its BA goes out.

SQLite from the standard library, in WAL mode with ``synchronous=NORMAL``: a change is
in the operating system's hands when :meth:`BindingJournal.record` returns, so it
survives the controller being killed (SIGKILL) at any moment; surviving a power cut as
well would take ``synchronous=FULL`` and an fsync per BU (docs/architecture.md).

The Home Agent's replay-protection state (the last accepted RFC 4285 timestamp of each
mobile node) is journaled with the bindings: without it, a BU captured before a restart
could be replayed after it.
"""
import contextlib
import ipaddress
import sqlite3

from mipv6_sdn.binding_cache import Attachment, Binding, BindingEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS binding (
    home_address TEXT PRIMARY KEY,
    care_of_address TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    lifetime INTEGER NOT NULL,
    expires REAL NOT NULL,
    home_registration INTEGER NOT NULL,
    link_local INTEGER NOT NULL,
    dpid INTEGER, port INTEGER, mac TEXT
);
CREATE TABLE IF NOT EXISTS replay (
    home_address TEXT PRIMARY KEY,
    timestamp INTEGER NOT NULL
);
"""


class BindingJournal:
    """Bindings and replay state of the Home Agent in one SQLite file."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self):
        self.db.close()

    @contextlib.contextmanager
    def transaction(self):
        """One commit for everything one Binding Update changes (binding and replay
        state together, or neither)."""
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def record(self, event, binding, now=None):
        """A binding cache subscriber: write the change through."""
        if event in (BindingEvent.ADDED, BindingEvent.UPDATED):
            attachment = binding.attachment
            self.db.execute(
                "INSERT OR REPLACE INTO binding VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(binding.home_address), str(binding.care_of_address), binding.sequence,
                 binding.lifetime, binding.expires, int(binding.home_registration),
                 int(binding.link_local), attachment and attachment.dpid,
                 attachment and attachment.port, attachment and attachment.mac))
        else:
            self.db.execute("DELETE FROM binding WHERE home_address = ?",
                            (str(binding.home_address),))

    def record_timestamp(self, home_address, timestamp):
        # SQLite integers are signed 64-bit; NTP timestamps use all 64 bits.
        self.db.execute("INSERT OR REPLACE INTO replay VALUES (?, ?)",
                        (str(home_address), timestamp - 2 ** 63))

    def restore(self, now):
        """(bindings not yet expired at ``now``, {home address: last timestamp})."""
        bindings = []
        for row in self.db.execute("SELECT * FROM binding WHERE expires > ?", (now,)):
            (home, care_of, sequence, lifetime, expires, home_registration, link_local,
             dpid, port, mac) = row
            attachment = Attachment(dpid, port, mac) if dpid is not None else None
            bindings.append(Binding(
                home_address=ipaddress.IPv6Address(home),
                care_of_address=ipaddress.IPv6Address(care_of), sequence=sequence,
                lifetime=lifetime, expires=expires,
                home_registration=bool(home_registration), link_local=bool(link_local),
                attachment=attachment))
        self.db.execute("DELETE FROM binding WHERE expires <= ?", (now,))
        timestamps = {ipaddress.IPv6Address(home): timestamp + 2 ** 63
                      for home, timestamp in self.db.execute("SELECT * FROM replay")}
        return bindings, timestamps
