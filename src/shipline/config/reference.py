"""The README's reference of every `[tool.shipline]` key, generated from the declarations.

Here rather than in options.py so that a table declared in a module of its own
(kubeoptions.py) joins the reference without options.py importing it back.
"""

from __future__ import annotations

from shipline.config.kubeoptions import KubernetesOptions
from shipline.config.options import SECTIONS as DECLARED
from shipline.config.options import Section

SECTIONS: tuple[type[Section], ...] = (*DECLARED, KubernetesOptions)
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
