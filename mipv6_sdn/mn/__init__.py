"""The mobile-node agent: a userspace Mobile IPv6 mobile node (docs/mobile-node.md).

The faucet split again: :mod:`mipv6_sdn.mn.core` is the pure RFC 6275 §11 logic (events
in with ``now``, actions out), a facade over parts that each own their state
(:mod:`~mipv6_sdn.mn.movement`, :mod:`~mipv6_sdn.mn.binding_update_list`,
:mod:`~mipv6_sdn.mn.home_registration`,
:mod:`~mipv6_sdn.mn.correspondent_registration` with
:mod:`~mipv6_sdn.mn.return_routability`, :mod:`~mipv6_sdn.mn.discovery`,
:mod:`~mipv6_sdn.mn.return_home`; what the signalling parts share is in
:mod:`~mipv6_sdn.mn.signalling`); :mod:`mipv6_sdn.mn.system` is the effectful side (a
packet socket and netlink), :mod:`mipv6_sdn.mn.cli` the ``mipv6-mn`` command. Of the
rest of the project the agent uses only the codecs: wire, mobility and packets.
docs/mobile-node.md describes what it does, every timer and the choices made.
"""
