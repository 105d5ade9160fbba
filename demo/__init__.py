"""The end-to-end demo: the three-layer pipeline (checks and unit tests, deploy, live
tests) on the example service, on this machine: `python -m demo`, as scripts/main runs it.

It lives beside the library, not in it: it needs this checkout (the example service,
scripts/provision's images) and the tests' throwaway registry and SSH host, which it
imports from tests/support as the tests do (tests/conftest.py puts tests/ on sys.path
the same way).
"""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
