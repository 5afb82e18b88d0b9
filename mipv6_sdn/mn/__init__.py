"""The mobile-node agent (DESIGN.md §7): a userspace Mobile IPv6 mobile node.

The faucet split again: :mod:`mipv6_sdn.mn.core` is the pure RFC 6275 §11 logic (events
in with ``now``, actions out), :mod:`mipv6_sdn.mn.system` the effectful side (a packet
socket and netlink), :mod:`mipv6_sdn.mn.cli` the ``mipv6-mn`` command. docs/mobile-node.md
describes what it does, every timer and the choices made.
"""
