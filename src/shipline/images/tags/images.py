"""The images input (image.ts Transform) and the image:tag references."""

from __future__ import annotations

from collections.abc import Sequence

from shipline.images.tags._js.values import (
    _csv_fields,
    _EvalError,
    _input_lines,
    _js_trim,
)
from shipline.images.tags.errors import TagRuleError


def _parse_images(images: Sequence[str]) -> list[tuple[str, bool]]:
    """image.ts Transform: (lowercased name, enabled) per image."""
    lines = _input_lines(images)
    try:
        records = [(line, _csv_fields(line)) for line in lines]
    except _EvalError as exc:
        raise TagRuleError(f"cannot read images: {exc}") from None
    if len(records) == 1 and all("=" not in text for text in records[0][1]):
        # The old format: one line of comma-separated names.
        return [(_js_trim(text).lower(), True) for text in records[0][1]]
    parsed: list[tuple[str, bool]] = []
    for line, fields in records:
        name, enable = "", True
        for text in fields:
            parts = [_js_trim(part) for part in text.split("=")]
            if len(parts) == 1:
                name = parts[0]
            elif parts[0].lower() == "name":
                name = parts[1]
            elif parts[0].lower() == "enable":
                if parts[1] not in ("true", "false"):
                    raise TagRuleError(f'image "{line}": enable must be true or false')
                enable = parts[1] == "true"
            else:
                raise TagRuleError(
                    f'unknown image attribute "{parts[0]}" in "{line}"; expected name or enable'
                )
        if not name:
            raise TagRuleError(f'image "{line}" has no name')
        parsed.append((name.lower(), enable))
    return parsed


def image_refs(images: Sequence[str], tags: Sequence[str]) -> list[str]:
    """``image:tag`` for every enabled image and tag, image by image, as the action lists them.

    With no enabled image the tags come back bare, as metadata-action outputs them.
    """
    names = [name for name, enabled in _parse_images(images) if enabled]
    if not names:
        return list(tags)
    return [f"{name}:{tag}" if name else tag for name in names for tag in tags]
