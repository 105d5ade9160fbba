"""The delivery tasks and their actions read one description: shipline.delivery."""

from __future__ import annotations

from shipline.delivery import TASKS
from shipline.tasks import DELIVERY, namespace


def test_the_delivery_tasks_are_described_by_the_delivery_data() -> None:
    assert DELIVERY == tuple(t.name for t in TASKS) == ("build", "push", "deploy", "smoke")
    for delivery in TASKS:
        task = namespace.tasks[delivery.name]
        assert task.__doc__ == delivery.description
        assert task.help == dict(delivery.help)
