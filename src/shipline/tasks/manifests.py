"""The manifests task: Kubernetes manifests from the project's config, written or printed.

It only wires `shipline.manifests`: the arguments are checked there, at the boundary,
and every error a user can fix ends the task with one line (exit 2).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke.context import Context
from invoke.tasks import task

from shipline import config
from shipline import manifests as k8s
from shipline.images import meta as image_meta
from shipline.tasks.errors import one_line_errors

HELP = {
    "target": "The platform to write manifests for: kubernetes",
    "image": "The image by digest, name[:tag]@sha256:<digest> (the tag labels the version)",
    "version": "A digest sha256:<digest> of the configured image, or the tag that labels it",
    "out": "The directory the manifests are written to (one file per object)",
    "dry_run": "Print the manifests as one YAML stream and write nothing",
}


@task(help=HELP, auto_shortflags=False)
def manifests(
    c: Context,
    target: str = "kubernetes",
    image: str | None = None,
    version: str | None = None,
    out: str = "k8s",
    dry_run: bool = False,
) -> None:
    """Write Kubernetes manifests (Deployment, Service) for the image, pinned by digest."""
    with one_line_errors():
        k8s.target(target)
        cfg = config.load(Path.cwd())
        name = image_meta.image_name(cfg, os.environ) if image is None else None
        documents = k8s.manifests(cfg, k8s.pin(image, version, name))
        command = k8s.secret_command(cfg)
        if dry_run:
            print(k8s.render(documents), end="")
        else:
            for path in k8s.write(documents, Path(out)):
                print(f"wrote {path}")
    if command is not None:
        # On stderr with --dry-run, so that stdout stays the YAML `kubectl apply -f -` reads.
        stream = sys.stderr if dry_run else sys.stdout
        secret = k8s.secret_name(cfg)
        print(
            f"the pods take their environment from the Secret {secret}; make it with:", file=stream
        )
        print(f"  {command}", file=stream)
