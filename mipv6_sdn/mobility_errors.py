"""The errors every Mobile IPv6 node owes a sender (RFC 6275 §9.2, §9.3.3), for the Home
Agent and the correspondent node alike: Binding Error and ICMPv6 Parameter Problem,
rate-limited together with the router's ICMPv6 errors (RFC 4443 §2.4(f))."""
from mipv6_sdn import mobility, packets, wire


class MobilityErrors:
    """``error_allowed(now)`` is the shared rate limit."""

    def __init__(self, error_allowed=None):
        self.error_allowed = error_allowed or (lambda now: True)

    def binding_error(self, now, meta, src, status, home):
        """RFC 6275 §9.3.1: a Binding Error from ``src`` to the unicast source of
        ``meta``, or nothing."""
        if meta.ip_src.is_multicast or meta.ip_src.is_unspecified or meta.ip_dst.is_multicast \
                or not self.error_allowed(now):
            return []
        message = mobility.BindingError(status=status, home_address=home)
        return [packets.ipv6(src, meta.ip_src, wire.IPPROTO_MH,
                             mobility.serialize_mobility_header(message, src, meta.ip_src))]

    def unrecognized(self, now, meta, src):
        """RFC 6275 §9.2: Binding Error status 2 for an MH Type we do not recognise."""
        return self.binding_error(now, meta, src, mobility.BE_UNRECOGNIZED_MH_TYPE,
                                  meta.home_address_option or wire.UNSPECIFIED)

    def parameter_problem(self, now, meta, src, pointer):
        error = packets.icmp_error(meta, src, wire.ICMPV6_PARAM_PROBLEM,
                                   wire.ICMPV6_PARAM_HEADER, pointer)
        return [error] if error is not None and self.error_allowed(now) else []

    def malformed(self, now, meta, src):
        """RFC 6275 §9.2: what a Mobility Header that did not parse is owed: Parameter
        Problem for its Payload Proto or Header Len, Binding Error 2 for an unknown
        type, silence for a bad checksum or options."""
        error = meta.mobility_error
        if error.kind in ("payload_proto", "header_len"):
            return self.parameter_problem(now, meta, src, error.pointer)
        if error.kind == "unknown_type":
            return self.unrecognized(now, meta, src)
        return []
