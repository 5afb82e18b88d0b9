"""``mipv6-controller --config FILE [ryu-manager args]``: ryu-manager with our app.

Checks the configuration first (one clear line and exit status 2 if it is bad), then
runs Ryu's manager (with the Python 3.11 fix of :mod:`mipv6_sdn.compat`) with the
project's application and every other argument passed through.
"""
import argparse
import os
import pathlib
import sys

# mipv6_sdn.compat installs the Python 3.11 fix when imported: before Ryu's manager,
# which imports ryu.app.wsgi.
from mipv6_sdn import compat  # noqa: F401  pylint: disable=unused-import
from mipv6_sdn.config import ConfigError, load_config
from ryu.cmd import manager

APP = pathlib.Path(__file__).resolve().parent.parent / "apps" / "mipv6_controller.py"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="mipv6-controller", description=__doc__.splitlines()[0],
        epilog="Any other argument is passed to ryu-manager.")
    parser.add_argument("--config", required=True, help="controller configuration (TOML)")
    args, ryu_args = parser.parse_known_args(argv)
    try:
        load_config(args.config)
    except ConfigError as exc:
        print(f"mipv6-controller: configuration error: {exc}", file=sys.stderr)
        return 2
    os.environ["MIPV6_SDN_CONFIG"] = os.path.abspath(args.config)
    manager.main(args=[*ryu_args, str(APP)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
