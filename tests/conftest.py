import sys
from pathlib import Path

pytest_plugins = ["pytester"]

# tests/support holds the sample-project builders shared by the tiers.
sys.path.insert(0, str(Path(__file__).parent))
