"""The delivery tasks and their actions read one description: shipline.delivery."""

from __future__ import annotations

import json
import subprocess
import sys

from shipline.delivery import TASKS
from shipline.tasks import DELIVERY

READ = """
import json
from shipline.tasks import namespace
print(json.dumps({n: [namespace.tasks[n].__doc__, namespace.tasks[n].help] for n in %r}))
"""


def test_the_delivery_tasks_are_described_by_the_delivery_data() -> None:
    """Read in a fresh interpreter: invoke pops a task's help entries as it parses its
    arguments, so tasks another test ran in this process have none left."""
    assert DELIVERY == tuple(t.name for t in TASKS) == ("gate", "build", "push", "deploy", "smoke")
    names = [t.name for t in TASKS]
    done = subprocess.run(
        [sys.executable, "-c", READ % names], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout)
    for delivery in TASKS:
        doc, help_ = found[delivery.name]
        assert doc == delivery.description
        assert help_ == dict(delivery.help)
