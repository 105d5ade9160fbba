"""The error every tag computation reports to the user."""

from __future__ import annotations

from shipline.errors import ConfigError


class TagRuleError(ConfigError):
    """A tags, flavor or images line that cannot produce tags; the message names it."""
