"""Decoders we did not write: tshark over a pcap, for cross-checking our bytes."""
import json
import subprocess

from scapy.layers.l2 import Ether
from scapy.utils import wrpcap


def _flatten(node, fields, key=None):
    """Collect every leaf under its field name; with --no-duplicate-keys a repeated
    field is a list, of scalars or of subtrees."""
    if isinstance(node, dict):
        for child_key, value in node.items():
            _flatten(value, fields, child_key)
    elif isinstance(node, list):
        for item in node:
            _flatten(item, fields, key)
    elif key is not None:
        fields.setdefault(key, []).append(node)


def tshark_expert_warnings(pcap, display_filter=None):
    """tshark's expert warnings and errors (malformed packets among them) for a capture."""
    args = ["tshark", "-r", str(pcap), "-q", "-z",
            f"expert,warn{',' + display_filter if display_filter else ''}"]
    expert = subprocess.run(args, check=True, capture_output=True, text=True,
                            timeout=120).stdout
    return [line for line in expert.splitlines()
            if line.strip() and not line.startswith(("=", "Running as"))]


def flatten_values(packet, name):
    """Every value of field ``name`` in one packet of tshark's JSON output."""
    fields = {}
    _flatten(packet, fields)
    return fields.get(name, [])


def tshark_fields(frames, tmp_path):
    """One {field: [values]} per frame, as tshark decodes it, and its expert warnings."""
    pcap = tmp_path / "frames.pcap"
    wrpcap(str(pcap), [Ether(bytes(frame)) for frame in frames])
    decoded = subprocess.run(["tshark", "-r", str(pcap), "-T", "json", "--no-duplicate-keys"], check=True,
                             capture_output=True, text=True, timeout=120).stdout
    result = []
    for packet in json.loads(decoded):
        fields = {}
        _flatten(packet["_source"]["layers"], fields)
        result.append(fields)
    return result, tshark_expert_warnings(pcap)


def mobility_header_types(pcap):
    """The MH Types tshark finds in a capture, in order; AssertionError if it finds any
    mobility message malformed or warns about one."""
    decoded = json.loads(subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "mipv6", "-T", "json", "--no-duplicate-keys"],
        capture_output=True, text=True, check=True, timeout=120).stdout)
    assert all("_ws.malformed" not in json.dumps(p) for p in decoded)
    assert tshark_expert_warnings(pcap, "mipv6") == []
    return [int(field) for packet in decoded for field in flatten_values(packet, "mip6.mhtype")]
