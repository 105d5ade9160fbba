"""`[tool.shipline]` read once into frozen objects, with errors that name the key.

This package is imported by the pytest plugin inside every test environment, so
it depends on the standard library only. `options` declares every key once (name,
parser, default, help); `sections` reads each table from those declarations into
the dataclasses of `model`; `values` holds the parsers and the table reader.
"""

from shipline.config.model import (
    AuditIgnore,
    Config,
    DeployConfig,
    ImageConfig,
    KubernetesConfig,
    LintConfig,
    QualityGateConfig,
    SecurityConfig,
    SmokeConfig,
    SwarmConfig,
    TestsConfig,
    Tier,
    TypeConfig,
)
from shipline.config.options import (
    CHECKERS,
    DEFAULT_GROUPS,
    DIST_MODES,
    LINTERS,
    LIVE_MODES,
    MIGRATION_TOOLS,
    SEVERITIES,
)
from shipline.config.reference import markdown_table
from shipline.config.sections import find_pyproject, load, parse, read_pyproject
from shipline.config.values import show
from shipline.tiers import SESSION_TIERS, TIERS

__all__ = [
    "CHECKERS",
    "DEFAULT_GROUPS",
    "DIST_MODES",
    "LINTERS",
    "LIVE_MODES",
    "MIGRATION_TOOLS",
    "SESSION_TIERS",
    "SEVERITIES",
    "TIERS",
    "AuditIgnore",
    "Config",
    "DeployConfig",
    "ImageConfig",
    "KubernetesConfig",
    "LintConfig",
    "QualityGateConfig",
    "SecurityConfig",
    "SmokeConfig",
    "SwarmConfig",
    "TestsConfig",
    "Tier",
    "TypeConfig",
    "find_pyproject",
    "load",
    "markdown_table",
    "parse",
    "read_pyproject",
    "show",
]
