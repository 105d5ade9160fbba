"""What an image is called and says about itself: name, tags, version, OCI labels.

Pure: the git context comes in, so the same inputs give the same image metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shipline import clock
from shipline.config import Config, show
from shipline.errors import ConfigError
from shipline.images import tags as tag_rules
from shipline.images.tags import GitContext
from shipline.inputs import is_image_name


@dataclass(frozen=True)
class ImageMeta:
    name: str
    tags: tuple[str, ...]
    """Exactly what the rules give; may be empty (metadata-action gives none either)."""
    version: str
    """The main tag, passed to the build as APP_VERSION (metadata-action's `version`);
    for a context no rule tags, the local build tag."""
    labels: Mapping[str, str]

    @property
    def fallback(self) -> bool:
        """No rule tags this context: a build gets a local tag, a push is refused."""
        return not self.tags

    @property
    def refs(self) -> tuple[str, ...]:
        """The references a build tags: the rules' tags, or the local one."""
        return tuple(f"{self.name}:{tag}" for tag in self.tags or (self.version,))

    @property
    def registry(self) -> str:
        """The registry host in the name (docker.io when the name has none)."""
        return registry_of(self.name)


def registry_of(name: str) -> str:
    """The registry host an image name names, docker.io when it names none (Docker's rule:
    the first component is a host when it has a dot or a port, or is localhost)."""
    first = name.split("/", 1)[0]
    has_host = "/" in name and ("." in first or ":" in first or first == "localhost")
    return first if has_host else "docker.io"


def image_name(cfg: Config, environ: Mapping[str, str]) -> str:
    """The configured name, else ghcr.io/<owner>/<repo> in Actions, else the project's name."""
    if cfg.image.name:
        return cfg.image.name
    if environ.get("GITHUB_REPOSITORY"):
        source = f"GITHUB_REPOSITORY {show(environ['GITHUB_REPOSITORY'])}"
        name = f"ghcr.io/{environ['GITHUB_REPOSITORY']}".lower()
    elif cfg.project_name:
        source, name = f"[project].name {show(cfg.project_name)}", cfg.project_name.lower()
    else:
        raise ConfigError(
            "tool.shipline.image.name: not set and no [project].name; "
            'set name = "ghcr.io/owner/app"'
        )
    if not is_image_name(name):
        # Docker is stricter than GitHub and PyPI (no "..", "_-", leading "." or "-"): a
        # name it refuses would fail at the first build or push, after the work.
        raise ConfigError(
            f"{source}: gives the image name {show(name)}, which Docker refuses; "
            'set [tool.shipline.image] name = "ghcr.io/owner/app"'
        )
    return name


def _license(project: Mapping[str, object]) -> str:
    value = project.get("license")
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return ""


def _source(project: Mapping[str, object], ctx: GitContext) -> str:
    urls = project.get("urls")
    if isinstance(urls, dict):
        for key in ("Source", "source", "Repository", "repository", "Homepage"):
            if isinstance(urls.get(key), str):
                return str(urls[key])
    return f"https://github.com/{ctx.repository}" if ctx.repository else ""


def compute(cfg: Config, ctx: GitContext, environ: Mapping[str, str]) -> ImageMeta:
    """Tags by the configured rules (metadata-action syntax), or shipline's defaults."""
    rules = tag_rules.parse_rules(
        cfg.image.tags if cfg.image.tags is not None else tag_rules.DEFAULT_RULES
    )
    flavor = tag_rules.parse_flavor(cfg.image.flavor)
    tags = tuple(tag_rules.compute_tags(rules, flavor, ctx))
    version = tags[0] if tags else f"sha-{ctx.sha[:7]}" if ctx.sha else "local"
    project = cfg.raw_pyproject.get("project", {})
    project = project if isinstance(project, dict) else {}
    labels = {
        "org.opencontainers.image.source": _source(project, ctx),
        "org.opencontainers.image.revision": ctx.sha,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": clock.stamp(ctx.date),
        "org.opencontainers.image.title": cfg.project_name or "",
        "org.opencontainers.image.licenses": _license(project),
    }
    return ImageMeta(
        name=image_name(cfg, environ),
        tags=tags,
        version=version,
        labels=MappingProxyType(labels),
    )
