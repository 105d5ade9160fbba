"""shipline.github: outputs in the multiline-safe form, the step summary, Actions or not."""

from __future__ import annotations

from pathlib import Path

from shipline import github


def read_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads the `key<<DELIMITER` form."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        key, delimiter = lines[index].split("<<", 1)
        end = lines.index(delimiter, index + 1)
        values[key] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return values


def test_outputs_survive_multiline_values_and_the_old_delimiter(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.write_text("earlier<<X\nkept\nX\n")
    values = {
        "tags": "ghcr.io/acme/web:1.2.3\nghcr.io/acme/web:latest",
        "tricky": "SHIPLINE_EOF\nvalue\nSHIPLINE_EOF",
        "empty": "",
    }
    github.write_outputs(values, {"GITHUB_OUTPUT": str(out)})
    github.write_outputs({"digest": "sha256:abc"}, {"GITHUB_OUTPUT": str(out)})
    assert read_outputs(out.read_text()) == {"earlier": "kept", **values, "digest": "sha256:abc"}
    delimiters = [line.split("<<", 1)[1] for line in out.read_text().splitlines() if "<<" in line]
    assert len(set(delimiters[1:])) == 4  # a fresh random delimiter per value
    assert "SHIPLINE_EOF" not in delimiters


def test_without_the_variables_nothing_is_written(tmp_path: Path) -> None:
    github.write_outputs({"version": "1.0"}, {})
    github.append_summary("# result\n", {"GITHUB_OUTPUT": ""})
    assert list(tmp_path.iterdir()) == []
    assert not github.in_actions({})
    assert not github.in_actions({"GITHUB_ACTIONS": "false"})
    assert github.in_actions({"GITHUB_ACTIONS": "true"})


def test_the_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    for markdown in ("# lint\n", "ok\n"):
        github.append_summary(markdown, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text() == "# lint\nok\n"
