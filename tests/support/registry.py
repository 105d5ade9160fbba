"""The registry of the tests: shipline.demo.sandbox's, which the demo uses too."""

from shipline.demo.sandbox import Registry, registry

__all__ = ["Registry", "registry"]
