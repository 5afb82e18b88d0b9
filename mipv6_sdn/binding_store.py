"""The store interface behind the binding caches (docs/architecture.md).

A store keeps what must outlive the controller: the entries of named binding caches
("home" for the Home Agent; correspondents' caches beside it) and small named state
next to each (the Home Agent's RFC 4285 replay timestamps). A binding cache writes
through to its store, inside one transaction per accepted message, before anything is
acknowledged. :class:`mipv6_sdn.journal.SqliteBindingStore` is the store of one
controller; a shared store for several controllers (on Redis or etcd, for example)
implements the same methods and replaces it without touching the parts that use it.
"""
import abc
import contextlib


class JournalError(Exception):
    """The store could not keep a change (disk full, read-only): nothing of it was kept,
    and nothing that depends on it may be acknowledged."""


class BindingStore(abc.ABC):
    """What a binding cache needs of its store. ``cache`` names the binding cache."""

    @abc.abstractmethod
    def transaction(self):
        """A context: everything saved inside it is kept together, or nothing is (and
        :class:`JournalError` is raised). A transaction opened inside another is part of
        it."""

    @abc.abstractmethod
    def save(self, cache, binding):
        """Keep ``binding`` (replacing the one for its home address)."""

    @abc.abstractmethod
    def remove(self, cache, home_address):
        """Forget the binding of ``home_address``."""

    @abc.abstractmethod
    def load(self, cache, now):
        """The bindings of ``cache`` that have not expired at ``now``."""

    @abc.abstractmethod
    def caches(self):
        """The names of the caches that hold bindings."""

    @abc.abstractmethod
    def save_state(self, cache, key, value):
        """Keep ``value`` (bytes) under ``key`` (text) beside ``cache``."""

    @abc.abstractmethod
    def remove_state(self, cache, key):
        """Forget what :meth:`save_state` kept under ``key`` beside ``cache``."""

    @abc.abstractmethod
    def load_state(self, cache):
        """{key: value} of everything :meth:`save_state` kept beside ``cache``."""


class EphemeralStore(BindingStore):
    """Keeps nothing: for a controller that need not survive a restart (unit tests,
    the benchmarks' no-journal baseline)."""

    def transaction(self):
        return contextlib.nullcontext()

    def save(self, cache, binding):
        pass

    def remove(self, cache, home_address):
        pass

    def load(self, cache, now):
        return []

    def caches(self):
        return []

    def save_state(self, cache, key, value):
        pass

    def remove_state(self, cache, key):
        pass

    def load_state(self, cache):
        return {}
