"""The load generator of the tests: shipline.demo.load's, which the demo uses too."""

from shipline.demo.load import Load

__all__ = ["Load"]
