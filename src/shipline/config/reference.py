"""The README's reference of every `[tool.shipline]` key, generated from the declarations.

Here rather than in options.py so that a table declared in a module of its own
(kubeoptions.py, deliveryoptions.py) joins the reference without options.py importing it back.
"""

from __future__ import annotations

from shipline.config import options as o
from shipline.config.deliveryoptions import QualityGateOptions, SwarmOptions
from shipline.config.kubeoptions import KubernetesOptions

SECTIONS: tuple[type[o.Section], ...] = (
    o.RootOptions,
    o.LintOptions,
    o.TypeOptions,
    o.SecurityOptions,
    o.AuditIgnoreOptions,
    o.TestsOptions,
    o.TierOptions,
    o.DatabaseTierOptions,
    o.GateOptions,
    o.ImageOptions,
    o.DeployOptions,
    SwarmOptions,
    o.SmokeOptions,
    QualityGateOptions,
    KubernetesOptions,
)
"""Every table, in the order of the reference."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The README's reference of every key, generated so the docs cannot drift."""
    rows = ["| key | default | what it sets |", "| --- | --- | --- |"]
    for section in SECTIONS:
        prefix = section.table.removeprefix("tool.shipline").lstrip(".")
        for option in section.options():
            key = f"{prefix}.{option.key}" if prefix else option.key
            rows.append(f"| `{key}` | {_cell(option.shown)} | {_cell(option.help)} |")
    return "\n".join(rows)
