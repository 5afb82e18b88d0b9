"""What the Home Agent answers besides Binding Updates: Dynamic Home Agent Address
Discovery (RFC 6275 §10.5) and Mobile Prefix Advertisements (RFC 6275 §10.6)."""
from mipv6_sdn import mobility, packets


class HomeAgentDiscovery:
    """Answers ICMPv6 144 (DHAAD Request) and 146 (Mobile Prefix Solicitation)."""

    def __init__(self, config, home_links, home_link_of, cache):
        self.config = config
        self.home_links = home_links
        self.home_link_of = home_link_of
        self.cache = cache

    def answer(self, meta):
        """The replies to a parsed DHAAD Request or Mobile Prefix Solicitation."""
        request = meta.dhaad
        if meta.icmp_type == mobility.HAAD_REQUEST:
            # RFC 6275 §10.5: the HAs of the home prefix the anycast address names,
            # by preference (one HA per home link here); the reply goes to the source.
            link = next((l for l in self.home_links
                         if meta.ip_dst == mobility.home_agents_anycast(l.prefix)), None)
            if link is None:
                return []
            body = mobility.haad_reply(request.identifier, [link.home_agent])
            return [packets.icmpv6(link.home_agent, meta.ip_src, mobility.HAAD_REPLY, 0, body)]
        # RFC 6275 §10.6: Mobile Prefix Advertisement to a registered MN.
        home = meta.home_address_option
        binding = self.cache.get(home) if home is not None else None
        link = self.home_link_of(home) if home is not None else None
        if binding is None or link is None or binding.care_of_address != meta.ip_src:
            return []
        body = mobility.mobile_prefix_advertisement(request.identifier, [(
            link.prefix, self.config.prefix_valid_lifetime,
            self.config.prefix_preferred_lifetime)])
        packet = packets.icmpv6(link.home_agent, home, mobility.MPA, 0, body)
        return [packets.via_care_of(packet, binding.care_of_address, home)]
