"""Where the rendered Dockerfile takes dependencies from, and BuildKit-only syntax found early."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
from support.sample import write

from shipline import project, scaffold
from shipline.errors import ShiplineError
from shipline.images import build, dependencies

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def dockerfile_for(root: Path, pyproject: str) -> str:
    write(root, "pyproject.toml", '[project]\nname = "my-app"\nversion = "0.1.0"\n' + pyproject)
    write(root, "src/my_app/__init__.py", "")
    write(root, "src/my_app/main.py", APP)
    actions = scaffold.plan(project.read(root))
    return next(a.content for a in actions if a.path == "Dockerfile")


SETUPTOOLS_DYNAMIC = """\
dynamic = ["dependencies"]

[tool.setuptools.dynamic]
dependencies = {file = ["requirements/base.in", "requirements.txt"]}
"""


def test_uv_lock_wins_and_is_exported_frozen(tmp_path: Path) -> None:
    write(tmp_path, "uv.lock", "version = 1\n")
    write(tmp_path, "requirements.txt", "fastapi\n")
    assert dependencies.detect(tmp_path) == dependencies.Dependencies(
        "uv", files=("pyproject.toml", "uv.lock")
    )
    text = dockerfile_for(tmp_path, 'dependencies = ["fastapi"]\n')
    assert "COPY pyproject.toml uv.lock ./\n" in text
    assert "uv export --frozen --no-dev --no-emit-project --no-hashes" in text
    assert "pip install --no-cache-dir --no-deps --editable .\n" in text
    assert "tomllib" not in text


def test_dynamic_requirement_files_with_their_includes_keep_their_paths(tmp_path: Path) -> None:
    write(tmp_path, "requirements/base.in", "-c ../constraints.txt\n-r common/web.txt\nfastapi\n")
    write(tmp_path, "requirements/common/web.txt", "jinja2\n")
    write(tmp_path, "constraints.txt", "jinja2<4\n")
    write(tmp_path, "requirements.txt", "--requirement=requirements/base.in\n")
    text = dockerfile_for(tmp_path, SETUPTOOLS_DYNAMIC)
    found = dependencies.detect(tmp_path)
    assert found.source == "requirements"
    assert found.requirements == ("requirements/base.in", "requirements.txt")
    assert sorted(found.files) == [
        "constraints.txt",
        "requirements.txt",
        "requirements/base.in",
        "requirements/common/web.txt",
    ]
    assert "COPY requirements/base.in requirements/\n" in text
    assert "COPY requirements/common/web.txt requirements/common/\n" in text
    assert "COPY constraints.txt requirements.txt ./\n" in text
    assert (
        "pip install --no-cache-dir -r requirements/base.in -r requirements.txt "
        '"gunicorn>=20.1" "uvicorn-worker>=0.2"\n'
    ) in text
    assert "pip install --no-cache-dir --editable .\n" in text


def test_hatch_requirements_plugin_and_a_plain_requirements_txt(tmp_path: Path) -> None:
    hatch = tmp_path / "hatch"
    write(hatch, "reqs.txt", "flask\n")
    write(
        hatch,
        "pyproject.toml",
        '[project]\nname = "a"\ndynamic = ["dependencies"]\n'
        '[tool.hatch.metadata.hooks.requirements_txt]\nfiles = ["reqs.txt"]\n',
    )
    assert dependencies.detect(hatch).requirements == ("reqs.txt",)
    plain = tmp_path / "plain"
    write(plain, "pyproject.toml", '[project]\nname = "a"\ndependencies = ["flask"]\n')
    write(plain, "requirements.txt", "flask==3.0.0\n")
    assert dependencies.detect(plain).requirements == ("requirements.txt",)


@pytest.mark.parametrize(
    "requirements",
    ["-e .\nfastapi\n", ".\n", "-r ../outside.txt\n", "-r missing.txt\n"],
)
def test_requirements_that_need_the_source_or_the_outside_fall_back_to_metadata(
    tmp_path: Path, requirements: str
) -> None:
    root = tmp_path / "app"
    write(tmp_path, "outside.txt", "flask\n")
    write(root, "pyproject.toml", '[project]\nname = "a"\ndependencies = ["flask"]\n')
    write(root, "requirements.txt", requirements)
    assert dependencies.detect(root).source == "pyproject"


def test_metadata_alone_installs_the_project_with_its_dependencies(tmp_path: Path) -> None:
    text = dockerfile_for(tmp_path, 'dependencies = ["fastapi"]\n')
    assert dependencies.detect(tmp_path).source == "pyproject"
    assert "COPY pyproject.toml ./\n" in text
    assert "tomllib" in text
    assert "pip install --no-cache-dir --editable .\n" in text  # with deps: dynamic ones too
    assert "COPY --from=builder --chown=10001:10001 /app /app\n" in text
    assert "chown 10001:10001 /app /app/data" in text


# BuildKit-only syntax -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("FROM x\nRUN --mount=type=cache,target=/root/.cache pip install .\n", "2: RUN --mount"),
        ("FROM x\nRUN echo a \\\n    && echo b\nCOPY --link a /a\n", "4: COPY --link"),
        ("FROM x\nRUN \\\n  # a comment\n  --network=none true\n", "2: RUN --network"),
        ("FROM x\ncopy --chmod=755 a /a\n", "2: COPY --chmod"),
        ("FROM x\nADD --checksum=sha256:0 https://e.invalid/a /a\n", "2: ADD --checksum"),
        ("FROM x\nRUN <<EOF\necho hi\nEOF\n", "2: RUN with a heredoc (<<)"),
        ("# escape=`\nFROM x\nRUN echo `\n  --mount\nCOPY --link a /a\n", "5: COPY --link"),
    ],
)
def test_buildkit_only_names_the_line(tmp_path: Path, text: str, found: str) -> None:
    dockerfile = write(tmp_path, "Dockerfile", "")
    dockerfile.write_text(text)
    assert build.buildkit_only(dockerfile) == f"Dockerfile:{found}"


@pytest.mark.parametrize(
    "text",
    [
        "# syntax=docker/dockerfile:1\nFROM x\nCOPY --chown=1:1 --from=b /a /a\n",
        "FROM x\nRUN echo $((1<<2)) && cat <<<word\nRUN echo --mount\n",
        "FROM x\n# RUN --mount=type=cache\nHEALTHCHECK --interval=5s CMD true\n",
    ],
)
def test_classic_syntax_passes(tmp_path: Path, text: str) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    assert build.buildkit_only(dockerfile) is None


def test_the_classic_builder_stops_before_the_engine_with_one_line(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM x\nRUN --mount=type=secret,id=t true\n")
    plan = build.BuildPlan(
        tmp_path, dockerfile, ("app:dev",), MappingProxyType({}), MappingProxyType({}), None
    )

    class NoEngine:
        @property
        def api(self) -> object:
            raise AssertionError("the engine was called")

    with pytest.raises(ShiplineError) as raised:
        build.run_classic(NoEngine(), plan, print)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("Dockerfile:2: RUN --mount needs BuildKit")
    assert "install the buildx plugin" in message
