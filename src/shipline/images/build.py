"""Building the project's image: a plan (pure), then the classic builder or buildx.

The classic builder runs through the Docker SDK; buildx, when the engine has it,
through its CLI (the SDK has no BuildKit API). Both build with host networking.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shipline.config import Config
from shipline.errors import ConfigError, ShiplineError
from shipline.images.meta import ImageMeta
from shipline.progress import Echo


@dataclass(frozen=True)
class BuildPlan:
    context: Path
    dockerfile: Path
    refs: tuple[str, ...]
    build_args: Mapping[str, str]
    labels: Mapping[str, str]
    target: str | None
    platforms: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    refs: tuple[str, ...]
    size: int
    seconds: float
    steps: int
    cached_steps: int
    builder: str


def plan(cfg: Config, meta: ImageMeta) -> BuildPlan:
    """What to build, from config and metadata; checks the Dockerfile is there."""
    context = (cfg.root / cfg.image.context).resolve()
    dockerfile = (cfg.root / cfg.image.dockerfile).resolve()
    if not context.is_dir():
        raise ConfigError(
            f"tool.shipline.image.context: {context} is not a directory; set it to the "
            'build context (default ".")'
        )
    if not dockerfile.is_file():
        raise ConfigError(
            f"tool.shipline.image.dockerfile: no Dockerfile at {dockerfile}; create one "
            "(`invoke init` writes a template) or set the path"
        )
    return BuildPlan(
        context=context,
        dockerfile=dockerfile,
        refs=meta.refs,
        build_args=MappingProxyType({**cfg.image.build_args, "APP_VERSION": meta.version}),
        labels=meta.labels,
        target=cfg.image.target,
        platforms=cfg.image.platforms,
        cache_from=cfg.image.cache_from,
        cache_to=cfg.image.cache_to,
    )


def buildx_argv(build: BuildPlan) -> list[str]:
    """The buildx command for a plan: --load into the engine, caches and platforms as set."""
    argv = ["docker", "buildx", "build", "--load", "--network", "host"]
    argv += ["--file", str(build.dockerfile)]
    for ref in build.refs:
        argv += ["--tag", ref]
    for key, value in build.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in build.labels.items():
        argv += ["--label", f"{key}={value}"]
    if build.target:
        argv += ["--target", build.target]
    if build.platforms:
        argv += ["--platform", ",".join(build.platforms)]
    for cache in build.cache_from:
        argv += ["--cache-from", cache]
    for cache in build.cache_to:
        argv += ["--cache-to", cache]
    argv += ["--iidfile", "/dev/stdout", str(build.context)]
    return argv


def has_buildx() -> bool:
    try:
        done = subprocess.run(
            ["docker", "buildx", "version"], capture_output=True, check=False, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _split(ref: str) -> tuple[str, str]:
    name, _, tag = ref.rpartition(":")
    return name, tag


def _classic_stream(client: Any, build: BuildPlan) -> Iterator[dict[str, Any]]:
    stream: Iterator[dict[str, Any]] = client.api.build(
        path=str(build.context),
        dockerfile=str(build.dockerfile),
        tag=build.refs[0],
        buildargs=dict(build.build_args),
        labels=dict(build.labels),
        target=build.target,
        network_mode="host",
        rm=True,
        forcerm=True,
        decode=True,
    )
    return stream


BUILDKIT_FLAGS = {
    "RUN": ("--mount", "--network", "--security"),
    "COPY": ("--link", "--chmod", "--parents", "--exclude"),
    "ADD": ("--link", "--chmod", "--parents", "--exclude", "--checksum", "--keep-git-dir"),
}
"""Instruction flags the classic builder rejects (checked on Docker 20.10: `--mount` and
`--chmod` with "requires BuildKit", the others as an unknown flag)."""
_HEREDOC = re.compile(r"(?<!<)<<-?\s*[\"']?[A-Za-z_]")


def _instructions(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, instruction with its continuation lines joined), comments left out."""
    escape = "\\"
    lines = text.splitlines()
    for line in lines:  # parser directives come first, before any other line
        directive = re.match(r"#\s*escape\s*=\s*(\S)\s*$", line)
        if directive:
            escape = directive.group(1)
        if not re.match(r"#\s*\w+\s*=", line):
            break
    start, joined = 0, ""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not joined:
            start = number
        if stripped.endswith(escape):
            joined += stripped[: -len(escape)] + " "
            continue
        yield start, joined + stripped
        joined = ""
    if joined:
        yield start, joined


def buildkit_only(dockerfile: Path) -> str | None:
    """The first BuildKit-only construct as `Dockerfile:LINE: what`, or None.

    Found before the build so an engine without buildx stops with one line that
    names the line and the fix, not with the engine's parse error mid-build.
    """
    text = dockerfile.read_text(encoding="utf-8", errors="replace")
    for number, instruction in _instructions(text):
        words = instruction.split()
        keyword = words[0].upper()
        flags = BUILDKIT_FLAGS.get(keyword, ())
        for word in words[1:]:
            if not word.startswith("--"):
                break
            flag = word.split("=", 1)[0]
            if flag in flags:
                return f"{dockerfile.name}:{number}: {keyword} {flag}"
        if keyword in ("RUN", "COPY", "ADD") and _HEREDOC.search(instruction):
            return f"{dockerfile.name}:{number}: {keyword} with a heredoc (<<)"
    return None


def run_classic(client: Any, build: BuildPlan, echo: Echo) -> BuildResult:
    """Build with the engine's classic builder through the SDK, streaming its output."""
    if build.platforms:
        raise ShiplineError(
            "tool.shipline.image.platforms needs buildx, which this engine does not have"
        )
    needs = buildkit_only(build.dockerfile)
    if needs:
        raise ShiplineError(
            f"{needs} needs BuildKit, and this engine has no buildx (its classic builder "
            "cannot build it); install the buildx plugin (docker-buildx-plugin), or rewrite "
            "that line without BuildKit-only syntax"
        )
    start = time.perf_counter()
    image_id = ""
    steps = cached = 0
    for chunk in _classic_stream(client, build):
        if "error" in chunk:
            detail = str(chunk.get("errorDetail", {}).get("message") or chunk["error"]).strip()
            raise ShiplineError(f"docker build failed: {detail}")
        line = str(chunk.get("stream", "")).rstrip()
        if line:
            echo(line)
            if re.match(r"Step \d+/\d+ :", line):
                steps += 1
            if "Using cache" in line:
                cached += 1
        aux = chunk.get("aux")
        if isinstance(aux, dict) and "ID" in aux:
            image_id = str(aux["ID"])
    if not image_id:
        raise ShiplineError("docker build finished without an image ID")
    for ref in build.refs[1:]:
        client.api.tag(image_id, *_split(ref))
    size = int(client.api.inspect_image(image_id)["Size"])
    seconds = time.perf_counter() - start
    return BuildResult(image_id, build.refs, size, seconds, steps, cached, "classic")


def run_buildx(client: Any, build: BuildPlan, echo: Echo) -> BuildResult:
    start = time.perf_counter()
    done = subprocess.run(buildx_argv(build), capture_output=True, text=True, check=False)
    for line in done.stderr.splitlines():
        echo(line)
    if done.returncode != 0:
        raise ShiplineError(f"docker buildx build failed (exit {done.returncode}); see above")
    image_id = done.stdout.strip().splitlines()[-1]
    cached = sum("CACHED" in line for line in done.stderr.splitlines())
    steps = sum(bool(re.match(r"#\d+ \[", line)) for line in done.stderr.splitlines())
    size = int(client.api.inspect_image(image_id)["Size"])
    seconds = time.perf_counter() - start
    return BuildResult(image_id, build.refs, size, seconds, steps, cached, "buildx")
