"""The binding journal: every accepted binding change on disk before its BA goes out.

SQLite from the standard library, in WAL mode with ``synchronous=NORMAL``: a change is
in the operating system's hands when its transaction commits, so it survives the
controller being killed (SIGKILL) at any moment; surviving a power cut as well would
take ``synchronous=FULL`` and an fsync per BU (docs/architecture.md).

Beside the bindings the journal keeps each cache's state, such as the Home Agent's
replay-protection timestamps: without them, a BU captured before a restart could be
replayed after it.
"""
import contextlib
import functools
import ipaddress
import logging
import sqlite3
import time

from mipv6_sdn.binding_cache import HOME_CACHE, Attachment, Binding
from mipv6_sdn.binding_store import BindingStore, JournalError
from mipv6_sdn.wire import address_text

LOG = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS bindings (
    cache TEXT NOT NULL,
    home_address TEXT NOT NULL,
    care_of_address TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    lifetime INTEGER NOT NULL,
    expires REAL NOT NULL,
    home_registration INTEGER NOT NULL,
    link_local INTEGER NOT NULL,
    dpid INTEGER, port INTEGER, mac TEXT,
    PRIMARY KEY (cache, home_address)
);
CREATE TABLE IF NOT EXISTS state (
    cache TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (cache, key)
);
"""
# The first journal format (the Home Agent's cache alone; replay timestamps shifted into
# SQLite's signed 64-bit integers) is carried over once, then dropped.
FIRST_FORMAT_TIMESTAMP_SHIFT = 2 ** 63


def _kept(write):
    """A write that raises :class:`JournalError` when SQLite cannot keep it."""
    @functools.wraps(write)
    def guarded(self, *args):
        started = time.perf_counter()
        try:
            result = write(self, *args)
        except sqlite3.Error as exc:
            raise self.failed(exc) from exc
        if not self.depth:  # kept at once (outside a transaction)
            self.committed(time.perf_counter() - started)
            self.recovered()
        return result
    return guarded


class SqliteBindingStore(BindingStore):
    """Binding caches and their state in one SQLite file."""

    def __init__(self, path):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.depth = 0  # transactions open: only the outermost one commits
        self.failing = False  # the last write failed: said once, until one succeeds
        self.commit_observer = None  # called with the seconds each commit took (metrics)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        with self.transaction():
            self._carry_over_first_format()

    def close(self):
        self.db.close()

    @contextlib.contextmanager
    def transaction(self):
        if self.depth:
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
            return
        self.depth = 1
        try:
            self.db.execute("BEGIN")
            yield
            started = time.perf_counter()
            self.db.execute("COMMIT")
            self.committed(time.perf_counter() - started)
        except BaseException as exc:
            if self.db.in_transaction:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite has rolled back by itself
            if isinstance(exc, sqlite3.Error):
                raise self.failed(exc) from exc
            raise
        finally:
            self.depth = 0
        self.recovered()

    def committed(self, seconds):
        if self.commit_observer is not None:
            self.commit_observer(seconds)

    def recovered(self):
        if self.failing:
            self.failing = False
            LOG.warning("journal %s: changes are kept again", self.path)

    def failed(self, exc):
        """The one clear line when the journal stops keeping changes; the error to raise."""
        if not self.failing:
            self.failing = True
            LOG.error("journal %s cannot keep changes (%s): binding changes are refused "
                      "and not acknowledged until it can (free space, or make it writable)",
                      self.path, exc)
        return JournalError(str(exc))

    def _carry_over_first_format(self):
        tables = {name for (name,) in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "binding" in tables:
            # What the new tables already hold is newer: it is kept.
            self.db.execute("INSERT OR IGNORE INTO bindings SELECT ?, * FROM binding",
                            (HOME_CACHE,))
            self.db.execute("DROP TABLE binding")
        if "replay" in tables:
            kept = self.load_state(HOME_CACHE)
            for home, shifted in list(self.db.execute("SELECT * FROM replay")):
                timestamp = (shifted + FIRST_FORMAT_TIMESTAMP_SHIFT).to_bytes(8, "big")
                if home not in kept or kept[home] < timestamp:  # never backwards
                    self.save_state(HOME_CACHE, home, timestamp)
            self.db.execute("DROP TABLE replay")

    @_kept
    def save(self, cache, binding):
        attachment = binding.attachment
        self.db.execute(
            "INSERT OR REPLACE INTO bindings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cache, address_text(binding.home_address), address_text(binding.care_of_address),
             binding.sequence, binding.lifetime, binding.expires,
             int(binding.home_registration), int(binding.link_local),
             attachment and attachment.dpid, attachment and attachment.port,
             attachment and attachment.mac))

    @_kept
    def remove(self, cache, home_address):
        self.db.execute("DELETE FROM bindings WHERE cache = ? AND home_address = ?",
                        (cache, address_text(home_address)))

    def load(self, cache, now):
        """The live bindings of ``cache``; expired ones are forgotten."""
        bindings = []
        for row in self.db.execute(
                "SELECT home_address, care_of_address, sequence, lifetime, expires, "
                "home_registration, link_local, dpid, port, mac FROM bindings "
                "WHERE cache = ? AND expires > ?", (cache, now)):
            (home, care_of, sequence, lifetime, expires, home_registration, link_local,
             dpid, port, mac) = row
            bindings.append(Binding(
                home_address=ipaddress.IPv6Address(home),
                care_of_address=ipaddress.IPv6Address(care_of), sequence=sequence,
                lifetime=lifetime, expires=expires,
                home_registration=bool(home_registration), link_local=bool(link_local),
                attachment=Attachment(dpid, port, mac) if dpid is not None else None))
        try:
            self.db.execute("DELETE FROM bindings WHERE cache = ? AND expires <= ?",
                            (cache, now))
        except sqlite3.Error:
            pass  # a journal that cannot be written is said once, at the first change
        return bindings

    def caches(self):
        return sorted(name for (name,) in self.db.execute(
            "SELECT DISTINCT cache FROM bindings"))

    @_kept
    def save_state(self, cache, key, value):
        self.db.execute("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", (cache, key, value))

    @_kept
    def remove_state(self, cache, key):
        self.db.execute("DELETE FROM state WHERE cache = ? AND key = ?", (cache, key))

    def load_state(self, cache):
        return {key: bytes(value) for key, value in self.db.execute(
            "SELECT key, value FROM state WHERE cache = ?", (cache,))}
