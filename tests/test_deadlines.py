"""Deadlines on one timer per loop: what ``asyncio.timeout`` gives a wait (TimeoutError
when it passes, an outside cancel kept a cancel), without a timer of its own."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

import pytest

from pytest_gomodnet._deadlines import abort_after, within


class _CountingLoop(asyncio.SelectorEventLoop):
    """A loop that counts the timers it is asked for."""

    timers = 0

    def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def]
        self.timers += 1
        return super().call_at(when, callback, *args, context=context)


def _run(main):  # type: ignore[no-untyped-def]
    loop = _CountingLoop()
    try:
        return loop.run_until_complete(main()), loop.timers
    finally:
        loop.close()


async def _wait(seconds: float, ready: asyncio.Future[str]) -> str:
    with within(seconds):
        return await ready


def test_a_wait_that_ends_in_time_returns_and_leaves_its_task_uncancelled() -> None:
    async def main() -> tuple[str, int]:
        ready = asyncio.get_running_loop().create_future()
        ready.set_result("read")
        value = await _wait(5, ready)
        await asyncio.sleep(0)
        task = asyncio.current_task()
        assert task is not None
        return value, task.cancelling()

    assert _run(main)[0] == ("read", 0)


def test_a_wait_past_its_deadline_is_a_timeout_error_no_sooner() -> None:
    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await _wait(0.05, asyncio.get_running_loop().create_future())
        return time.monotonic() - started

    elapsed, _ = _run(main)
    assert elapsed >= 0.05


def test_an_outside_cancel_stays_a_cancel() -> None:
    async def main() -> None:
        waiting = asyncio.ensure_future(_wait(5, asyncio.get_running_loop().create_future()))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    _run(main)


@pytest.mark.parametrize("graces", [False, True], ids=["waits", "waits and graces"])
def test_waits_of_one_duration_share_one_timer(graces: bool) -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        results = []
        for _ in range(100):
            if graces:  # a closing connection's grace, ended in time (abort_after)
                abort_after(_Transport(), 5).end()
            ready = loop.create_future()
            loop.call_soon(ready.set_result, "ok")
            results.append(await _wait(5, ready))
        return results

    results, timers = _run(main)
    assert results == ["ok"] * 100
    assert timers == 1


def test_a_shorter_wait_behind_a_longer_one_expires_first() -> None:
    async def main() -> list[tuple[float, float]]:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        ended: list[tuple[float, float]] = []

        async def timed(seconds: float) -> None:
            with pytest.raises(TimeoutError):
                await _wait(seconds, loop.create_future())
            ended.append((seconds, time.monotonic() - started))

        await asyncio.gather(timed(0.3), timed(0.05), timed(0.3))
        return ended

    ended, _ = _run(main)
    assert [seconds for seconds, _ in ended] == [0.05, 0.3, 0.3]
    assert all(elapsed >= seconds for seconds, elapsed in ended)


def test_a_done_wait_queued_behind_a_long_one_does_not_keep_its_task() -> None:
    async def main() -> bool:
        loop = asyncio.get_running_loop()
        long = asyncio.ensure_future(_wait(5, loop.create_future()))
        await asyncio.sleep(0)
        ready = loop.create_future()
        ready.set_result("done")
        short = asyncio.ensure_future(_wait(5, ready))
        assert await short == "done"
        gone = weakref.ref(short)
        del short
        for _ in range(3):  # the loop lets go of the handles that woke us
            await asyncio.sleep(0)
        gc.collect()
        long.cancel()
        return gone() is None

    assert _run(main)[0] is True


def test_a_deadline_outside_a_task_is_refused() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        raised: asyncio.Future[str] = loop.create_future()

        def callback() -> None:  # runs on the loop, in no task
            try:
                within(1)
            except RuntimeError as exc:
                raised.set_result(str(exc))

        loop.call_soon(callback)
        return await raised

    assert _run(main)[0] == "a deadline needs a task to cancel"


class _Transport(asyncio.Transport):
    """A transport that only records when it is aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted_at: float | None = None

    def abort(self) -> None:
        self.aborted_at = time.monotonic()


def test_a_grace_that_passes_aborts_its_transport_no_sooner() -> None:
    async def main() -> tuple[float, float | None]:
        transport = _Transport()
        started = time.monotonic()
        abort_after(transport, 0.05)
        await asyncio.sleep(0.2)
        return started, transport.aborted_at

    (started, aborted_at), _ = _run(main)
    assert aborted_at is not None, "the grace passed and the transport was left open"
    assert aborted_at - started >= 0.05


def test_a_grace_ended_in_time_aborts_nothing_and_lets_go_of_its_transport() -> None:
    async def main() -> tuple[float | None, bool]:
        transport = _Transport()
        grace = abort_after(transport, 0.05)
        grace.end()  # the connection was lost: its client closed in time
        gone = weakref.ref(transport)
        aborted = transport.aborted_at
        del transport
        gc.collect()
        await asyncio.sleep(0.1)
        return aborted, gone() is None and grace.transport is None

    (aborted, let_go), _ = _run(main)
    assert aborted is None
    assert let_go, "an ended grace still holds its transport"


@pytest.mark.parametrize("wait", [False, True], ids=["without a wait", "after a wait"])
def test_a_closed_loop_is_not_kept_alive_by_its_deadlines(wait: bool) -> None:
    """One proxy, one loop: a test session makes hundreds, and none may stay in memory."""

    async def main() -> None:
        if wait:
            with within(5):  # its timer is still set when the loop closes
                await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(main())
    loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None
