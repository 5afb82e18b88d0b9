"""The one Python 3.11 compatibility fix Ryu 4.34 needs.

``ryu/app/wsgi.py`` does ``from eventlet.wsgi import ALREADY_HANDLED`` while its
module is imported, and no eventlet release that runs on Python 3.11 defines that
name (eventlet >= 0.30 tracks "already handled" in ``WSGI_LOCAL`` instead). Ryu's
manager imports ``ryu.app.wsgi`` before it loads any application, so the name must
exist before that import. :func:`install` adds a meta-path finder that sets the
attribute right after ``eventlet.wsgi`` is first imported. Importing this module
installs it, so a module that imports ``mipv6_sdn.compat`` before anything of Ryu's
needs nothing more; set-up places a ``.pth`` file in the venv that imports it, so plain
``ryu-manager`` works too.

The value only matters to Ryu's websocket responses, which this project does not use;
eventlet's server ignores the body of a response it was told is already handled.
"""
import importlib.abc
import sys

_TARGET = "eventlet.wsgi"


def _patch(module):
    if not hasattr(module, "ALREADY_HANDLED"):
        module.ALREADY_HANDLED = ()


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch(module)


class _EventletWsgiFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def install():
    """Make ``eventlet.wsgi.ALREADY_HANDLED`` exist whenever eventlet.wsgi is loaded."""
    if _TARGET in sys.modules:
        _patch(sys.modules[_TARGET])
        return
    if not any(isinstance(f, _EventletWsgiFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _EventletWsgiFinder())


install()
