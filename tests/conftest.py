import sys
from pathlib import Path

pytest_plugins = ["pytester"]

# tests/support holds the sample-project builders and the sandbox shared by the tiers
# (and by the demo).
sys.path.insert(0, str(Path(__file__).parent))
# The checkout's root, for the demo package (demo/): appended, so that nothing in the
# root (tasks.py, noxfile.py) can shadow an installed module.
sys.path.append(str(Path(__file__).parents[1]))
