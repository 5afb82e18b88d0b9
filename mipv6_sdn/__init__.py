"""mipv6-sdn: Mobile IPv6 (RFC 6275) done centrally by a Ryu OpenFlow 1.3 controller.

The pure core lives in this package: it takes plain data and ``now`` and returns
OpenFlow messages (built with ``datapath=None``) and packets as bytes. Only ``apps/``
touches ``ryu.controller`` and ``ryu.lib.hub``.
"""
