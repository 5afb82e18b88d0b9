"""Tools to check rule plans without a switch, shared by the tests and the benchmarks.

:mod:`mipv6_sdn.testing.fake_switch` simulates OpenFlow 1.3 switches: it applies the
flow-mods and group-mods the core returns and walks packets through them, and rejects
a rule that its table does not declare (:mod:`mipv6_sdn.testing.flow_mod_check`).
:mod:`mipv6_sdn.testing.core_harness` puts a routing core on the reference network of
fake switches (it needs Scapy and a source checkout, for mininet_topos/roaming.toml).
"""
