"""Docker image tags computed the way docker/metadata-action computes them.

Users move their metadata-action ``tags`` and ``flavor`` inputs to shipline unchanged
and must get the same tags, so this package follows metadata-action's source rather
than its README, quirks included; ``tests/fixtures/metadata-action-tags.json`` is the
oracle. Its modules mirror the action's files:

* ``context`` (``src/context.ts``): GitContext and ``context_from_env``.
* ``rules`` (``src/tag.ts``): parsing ``tags`` lines; DEFAULT_RULES, shipline's scheme.
* ``flavor`` (``src/flavor.ts``): parsing ``flavor`` lines.
* ``compute`` and ``scopes`` (``src/meta.ts``): rules fold into the tag list; the
  expressions templates render against.
* ``images`` (``src/image.ts``): the ``images`` input and ``image:tag`` references.
* ``errors``: TagRuleError, which every module raises.

The npm packages metadata-action leans on (semver, @renovate/pep440, handlebars,
moment, JavaScript regular expressions and values) are rebuilt in the private ``_js``
subpackage; each module's docstring says what it follows and where it stops.

Differences, all on input that cannot give a useful tag: a non-numeric ``priority``,
an empty ``pattern=`` (semver, pep440, match) or raw ``value=``, a static ``enable=``
other than true/false, and a regex or template that does not compile are rejected
when rules are parsed, where metadata-action ignores them or fails on some events.

Extension: ``{{is_branch 'NAME' ...}}`` renders ``true`` when the ref is one of the
named branches, else ``false``. metadata-action cannot say "only on branch develop" in
``enable=``, and shipline's DEFAULT_RULES need it; rules using it do not port back.
"""

from __future__ import annotations

from shipline.images.tags.compute import compute_tags
from shipline.images.tags.context import GitContext, context_from_env
from shipline.images.tags.errors import TagRuleError
from shipline.images.tags.flavor import Flavor, parse_flavor
from shipline.images.tags.images import image_refs
from shipline.images.tags.rules import DEFAULT_RULES, Rule, parse_rules

__all__ = [
    "DEFAULT_RULES",
    "Flavor",
    "GitContext",
    "Rule",
    "TagRuleError",
    "compute_tags",
    "context_from_env",
    "image_refs",
    "parse_flavor",
    "parse_rules",
]
