"""shipline: a Python web backend's CI/CD pipeline as reusable, tested parts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shipline")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"
