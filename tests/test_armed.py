"""The fault queues and their must-fire accounting, without a socket."""

from __future__ import annotations

import pytest

from pytest_gomodnet.armed import Armed, FaultQueues, check_glob, must_fire_count, plan_list
from pytest_gomodnet.errors import FaultPlanError
from pytest_gomodnet.faults import Refuse, Status, Truncate

CUT, BUSY = Truncate(100), Status(503)


def _armed(host: str, *plans, glob: str | None = None, must_fire: bool | int = True) -> Armed:
    return Armed(host, glob, plans, must_fire_count(must_fire, plans), f"fault({host!r}, …)")


def test_a_path_queue_comes_first_then_the_hosts() -> None:
    queues = FaultQueues()
    queues.arm(_armed("proxy.test", BUSY))
    queues.arm(_armed("proxy.test", CUT, None, glob="*.zip"))
    taken = [queues.exchange_plan("proxy.test", p) for p in ("/a.zip", "/a.zip", "/a.zip")]
    assert taken == [CUT, None, BUSY]
    assert queues.exchange_plan("proxy.test", "/a.zip") is None  # after the queues: clean
    assert queues.report(["proxy.test"]) is None


def test_a_connection_fault_is_taken_by_a_connection_only() -> None:
    queues = FaultQueues()
    queues.arm(_armed("proxy.test", Refuse(), BUSY))
    assert queues.exchange_plan("proxy.test", "/a") is None  # an open connection passes it by
    assert queues.connection_plan("proxy.test") == Refuse()
    assert queues.connection_plan("proxy.test") is None  # BUSY is for an exchange
    assert queues.exchange_plan("proxy.test", "/a") == BUSY


def test_nothing_taken_is_reported_and_none_need_not_fire() -> None:
    queues = FaultQueues()
    queues.arm(_armed("proxy.test", None, CUT, None))
    queues.arm(_armed("proxy.test", None, None, glob="*.zip"))  # only clean: nothing to prove
    report = queues.report(["proxy.test"])
    assert report is not None
    assert report.splitlines()[1:] == [
        f"  fault('proxy.test', …): never fired: {CUT!r}",
        "    proxy.test saw no request",
    ]


def test_must_fire_counts_the_first_plans() -> None:
    queues = FaultQueues()
    queues.arm(_armed("proxy.test", BUSY, BUSY, BUSY, must_fire=2))
    queues.exchange_plan("proxy.test", "/a")
    report = queues.report(["proxy.test"])
    assert report is not None
    assert report.splitlines()[1:3] == [
        f"  fault('proxy.test', …): never fired: {BUSY!r}",
        "    1 of 3 plans taken; the requests proxy.test saw, nearest first:",
    ]
    queues.exchange_plan("proxy.test", "/a")
    assert queues.report(["proxy.test"]) is None


def test_clear_forgets_everything() -> None:
    queues = FaultQueues()
    queues.arm(_armed("proxy.test", CUT))
    queues.clear()
    assert queues.report([]) is None
    assert queues.exchange_plan("proxy.test", "/a") is None


@pytest.mark.parametrize("value", [-1, 4, 1.0, "1", None])
def test_must_fire_is_a_bool_or_a_count(value) -> None:
    with pytest.raises(FaultPlanError) as raised:
        must_fire_count(value, (CUT, CUT, CUT))
    assert str(raised.value) == (
        f"must_fire={value!r} must be True (every plan), False (none) or how many of the "
        "first plans must fire, from 0 to 3"
    )


@pytest.mark.parametrize("glob", ["/example.test/m/@v/v1.0.0.zip", "*.zip", "?x", "[/]*", None])
def test_globs_that_can_match_a_path_are_accepted(glob) -> None:
    check_glob(glob)


def test_a_glob_that_is_not_a_str_is_refused() -> None:
    with pytest.raises(FaultPlanError, match=r"^path=b'\*\.zip' must be a str glob such as"):
        check_glob(b"*.zip")


def test_runs_of_equal_plans_read_as_code() -> None:
    assert plan_list([None, BUSY, BUSY, BUSY, CUT, CUT]) == (
        f"None, *[{BUSY!r}] * 3, {CUT!r}, {CUT!r}"
    )
    assert eval(f"[{plan_list([BUSY] * 4)}]") == [BUSY] * 4  # it pastes back
