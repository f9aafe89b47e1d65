"""One test per behaviour x consumer x backend (see conftest.py and behaviours.py)."""

import pytest

from behaviours import ALL as BEHAVIOURS
from behaviours import Target
from conftest import REFERENCE, differences, record


def test_behaviour(behaviour, consumer, backend, servers):
    reason = consumer.not_applicable.get(behaviour)
    if reason:
        record(behaviour, consumer, backend, "n/a", reason)
        pytest.skip(reason)
    target = Target(servers(consumer, backend), consumer.paths)
    try:
        observation = BEHAVIOURS[behaviour](target)
    except BaseException:
        record(behaviour, consumer, backend, "fail", {})
        raise
    record(behaviour, consumer, backend, "pass", observation)


def test_every_observation_equals_the_reference():
    """Runs last (pytest keeps definition order): what each consumer observed for each
    behaviour equals what the reference consumer observed on the same backend."""
    diffs = differences()
    assert not diffs, "\n".join(
        f"{b} / {c} / {k} differs from {REFERENCE}: {m}" for (b, c, k), m in sorted(diffs.items())
    )
