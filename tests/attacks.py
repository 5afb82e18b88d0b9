"""Frames an attacker on an access port sends, built with Scapy; run inside a Mininet
host by tests/test_integration_security.py::

    attacks.py echo IFACE SRC DST COUNT    echo requests from any source address
    attacks.py override IFACE TARGET COUNT unsolicited NAs with Override for TARGET
"""
import sys

from scapy.layers.inet6 import (ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6NDOptDstLLAddr,
                                IPv6)
from scapy.layers.l2 import Ether
from scapy.sendrecv import sendp

ROUTER_MAC = "02:00:00:00:00:01"


def main(argv):
    from scapy.arch import get_if_hwaddr
    mode, iface, *rest = argv
    mac = get_if_hwaddr(iface)
    if mode == "echo":
        src, dst, count = rest
        frame = Ether(src=mac, dst=ROUTER_MAC) / IPv6(src=src, dst=dst) / \
            ICMPv6EchoRequest(id=0x5a, data=b"spoofed")
    else:
        target, count = rest
        frame = Ether(src=mac, dst="33:33:00:00:00:01") / \
            IPv6(src=target, dst="ff02::1", hlim=255) / \
            ICMPv6ND_NA(tgt=target, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac)
    sendp(frame, iface=iface, count=int(count), inter=0.05, verbose=False)


if __name__ == "__main__":
    main(sys.argv[1:])
