import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

pytest_plugins = ["pytester"]

# tests/support holds the sample-project builders and the sandbox shared by the tiers
# (and by the demo).
sys.path.insert(0, str(Path(__file__).parent))
# The checkout's root, for the demo package (demo/): appended, so that nothing in the
# root (tasks.py, noxfile.py) can shadow an installed module.
sys.path.append(str(Path(__file__).parents[1]))

# Each test process (every xdist worker) its own docker client configuration: modules
# that log in to their registries at the same time would otherwise rewrite one
# ~/.docker/config.json over each other and lose a login; nor do tests leave
# credentials in the machine's own configuration. Compose, the CLI plugin, is found in
# the system plugin directory whatever DOCKER_CONFIG says.
_DOCKER_CONFIG = tempfile.mkdtemp(prefix=f"shipline-docker-config-{os.getpid()}-")
os.environ["DOCKER_CONFIG"] = _DOCKER_CONFIG
atexit.register(shutil.rmtree, _DOCKER_CONFIG, True)
