"""The sample project the session benchmark runs on: 5 modules of code, 200 tests.

Built on the tests' sample (tests/support/sample.py), so the benchmark measures
a project shaped like the ones the integration tier runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.sample import CORE, NOXFILE, pyproject, write  # noqa: E402

TOOL = Template(
    """\
[tool.shipline.lint]
paths = ["src", "tests", "noxfile.py"]

[tool.shipline.tests]
coverage-fail-under = 80
workers = $workers
dist = "$dist"
durations = 5
env = { APP_SECRET = "placeholder" }
"""
)
"""The benchmark's [tool.*] tables: the tests' sample project, linted, with xdist."""
DEV = ("pytest>=8", "pytest-xdist>=3.6", "pytest-cov>=5")

CLAMP = """

def clamp(value: int, low: int, high: int) -> int:
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))
"""

SOURCES: Mapping[str, str] = {
    "__init__.py": '''\
        """The sample app the shipline benchmark tests."""
        ''',
    "core.py": CORE + CLAMP,
    "text.py": '''\
        """Text helpers for titles, slugs and previews."""

        import re
        import unicodedata

        _NOT_WORD = re.compile(r"[^a-z0-9]+")


        def slugify(title: str) -> str:
            plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
            return _NOT_WORD.sub("-", plain.lower()).strip("-")


        def truncate(text: str, width: int, ellipsis: str = "...") -> str:
            if width < len(ellipsis):
                raise ValueError("width is smaller than the ellipsis")
            if len(text) <= width:
                return text
            return text[: width - len(ellipsis)].rstrip() + ellipsis


        def word_counts(text: str) -> dict[str, int]:
            counts: dict[str, int] = {}
            for word in re.findall(r"[a-z']+", text.lower()):
                counts[word] = counts.get(word, 0) + 1
            return counts
        ''',
    "money.py": '''\
        """Amounts of money in cents, parsed and formatted without floats."""

        from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation


        def parse_cents(amount: str) -> int:
            try:
                value = Decimal(amount.replace(",", "").strip())
            except InvalidOperation:
                raise ValueError(f"not an amount: {amount!r}") from None
            return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


        def format_cents(cents: int, currency: str = "EUR") -> str:
            sign = "-" if cents < 0 else ""
            whole, part = divmod(abs(cents), 100)
            return f"{sign}{whole:,}.{part:02d} {currency}"


        def split_evenly(cents: int, parts: int) -> list[int]:
            if parts <= 0:
                raise ValueError("parts must be positive")
            share, rest = divmod(cents, parts)
            return [share + 1 if i < rest else share for i in range(parts)]


        def discount(cents: int, percent: int) -> int:
            if not 0 <= percent <= 100:
                raise ValueError("percent must be from 0 to 100")
            return cents - cents * percent // 100
        ''',
    "inventory.py": '''\
        """A small stock ledger."""

        from dataclasses import dataclass, field


        class OutOfStockError(Exception):
            """More items were taken than are in stock."""


        @dataclass
        class Inventory:
            stock: dict[str, int] = field(default_factory=dict)

            def add(self, sku: str, count: int = 1) -> int:
                if count <= 0:
                    raise ValueError("count must be positive")
                self.stock[sku] = self.stock.get(sku, 0) + count
                return self.stock[sku]

            def take(self, sku: str, count: int = 1) -> int:
                have = self.stock.get(sku, 0)
                if count > have:
                    raise OutOfStockError(f"{sku}: wanted {count}, have {have}")
                left = have - count
                if left:
                    self.stock[sku] = left
                else:
                    del self.stock[sku]
                return left

            def total(self) -> int:
                return sum(self.stock.values())
        ''',
    "parsing.py": '''\
        """Parsers for the small formats the app reads from its settings."""


        def parse_ranges(spec: str) -> list[int]:
            """Expand `1-3,5` to [1, 2, 3, 5]."""
            numbers: list[int] = []
            for part in filter(None, (p.strip() for p in spec.split(","))):
                if "-" in part:
                    start, end = (int(x) for x in part.split("-", 1))
                    if start > end:
                        raise ValueError(f"backwards range: {part}")
                    numbers.extend(range(start, end + 1))
                else:
                    numbers.append(int(part))
            return numbers


        def parse_settings(text: str) -> dict[str, str]:
            settings: dict[str, str] = {}
            for number, raw in enumerate(text.splitlines(), start=1):
                line = raw.split("#", 1)[0].strip()
                if not line:
                    continue
                key, sep, value = line.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"line {number}: expected KEY=value")
                settings[key.strip().upper()] = value.strip()
            return settings
        ''',
}

TEST_MODULE = Template('''\
"""Generated test module $k of the shipline benchmark's sample project."""

import pytest

from sample_app import core, money, text
from sample_app.inventory import Inventory, OutOfStockError


def test_add() -> None:
    assert core.add($k, $k1) == $sum


def test_clamp() -> None:
    assert core.clamp($k, 3, 10) == $clamped
    with pytest.raises(ValueError, match="low"):
        core.clamp($k, 10, 3)


def test_slug_and_truncate() -> None:
    title = "Release $k of the Sample App"
    assert text.slugify(title) == "release-$k-of-the-sample-app"
    assert text.truncate(title, 12).endswith("...")
    assert text.truncate(title, 80) == title


def test_money_roundtrip() -> None:
    cents = $cents
    shown = money.format_cents(cents)
    assert shown.endswith(" EUR")
    assert money.parse_cents(shown.split()[0]) == cents
    assert money.format_cents(-cents).startswith("-")


def test_inventory() -> None:
    stock = Inventory()
    stock.add("sku-$k", $k2)
    assert stock.take("sku-$k") == $k1
    with pytest.raises(OutOfStockError):
        stock.take("sku-$k", $k5)
    assert stock.take("sku-$k", $k1) == 0
    assert stock.total() == 0


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_split_evenly(parts: int) -> None:
    shares = money.split_evenly($cents, parts)
    assert len(shares) == parts
    assert sum(shares) == $cents
    assert max(shares) - min(shares) <= 1


$extra''')

EXTRA_TESTS: tuple[str, ...] = (
    """\
def test_secret() -> None:
    assert core.secret() == "placeholder"
""",
    """\
def test_ranges() -> None:
    from sample_app import parsing

    assert parsing.parse_ranges("1-3, $k,") == [1, 2, 3, $k]
    with pytest.raises(ValueError, match="backwards"):
        parsing.parse_ranges("5-1")
""",
    """\
def test_settings() -> None:
    from sample_app import parsing

    parsed = parsing.parse_settings("name = app$k\\n# comment\\n\\nport=80$k\\n")
    assert parsed == {"NAME": "app$k", "PORT": "80$k"}
    with pytest.raises(ValueError, match="line 1"):
        parsing.parse_settings("no equals sign")
""",
    """\
def test_word_counts() -> None:
    assert text.word_counts("a b A c $k") == {"a": 2, "b": 1, "c": 1}
    with pytest.raises(ValueError, match="ellipsis"):
        text.truncate("abc", 1)
""",
    """\
def test_discount() -> None:
    assert money.discount($cents, 0) == $cents
    assert money.discount($cents, 100) == 0
    with pytest.raises(ValueError, match="percent"):
        money.discount($cents, 101)
    with pytest.raises(ValueError, match="not an amount"):
        money.parse_cents("twelve")
    with pytest.raises(ValueError, match="positive"):
        money.split_evenly(1, 0)
""",
)

TEST_MODULES = 20
TESTS_PER_MODULE = 10  # 5 plain + 1 parametrized x 4 + 1 rotating extra


def make_project(root: Path, workers: str, dist: str, modules: int = TEST_MODULES) -> int:
    """Write the sample project with `modules` test modules; returns how many tests it has."""
    workers_toml = json.dumps(workers) if not workers.isdigit() else workers
    tool = TOOL.substitute(workers=workers_toml, dist=dist)
    write(root, "pyproject.toml", pyproject(tool, dev=DEV))
    write(root, "noxfile.py", NOXFILE)
    for name, source in SOURCES.items():
        write(root, f"src/sample_app/{name}", source)
    for k in range(modules):
        values = {
            "k": k,
            "k1": k + 1,
            "k2": k + 2,
            "k5": k + 5,
            "sum": 2 * k + 1,
            "clamped": min(max(k, 3), 10),
            "cents": 123_457 * (k + 1),
        }
        extra = Template(EXTRA_TESTS[k % len(EXTRA_TESTS)]).substitute(values)
        module = TEST_MODULE.substitute(values, extra=extra)
        write(root, f"tests/test_generated_{k:02d}.py", module)
    return modules * TESTS_PER_MODULE
