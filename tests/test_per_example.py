"""``gomodnet.example()``: one hypothesis example's own fault queue and log slice."""

from __future__ import annotations

import re
import textwrap

import httpx
import pytest

from _helpers import settled
from pytest_gomodnet.errors import UnfiredFaultError
from pytest_gomodnet.faults import Status, Truncate
from pytest_gomodnet.per_example import ConnectionLog

BASE = "https://proxy.test/example.test/m/@v/v1.0.0"
BUSY = Status(503, b"busy\n")


@pytest.fixture
def net(gomodnet, module_store):
    module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    return gomodnet


def test_an_example_starts_clean_and_the_faults_armed_before_wait_for_its_end(net) -> None:
    net.fault("proxy.test", BUSY, path="*.info")
    with net.client() as client:
        with net.example():
            assert client.get(f"{BASE}.info").status_code == 200
            net.fault("proxy.test", Status(404), path="*.info")
            assert client.get(f"{BASE}.info").status_code == 404
        assert client.get(f"{BASE}.info").status_code == 503  # the test's own fault, now
    assert net.faults == ["fault('proxy.test', Status(code=503, body=b'busy\\n'), path='*.info')"]


def test_a_fault_armed_in_an_example_must_fire_in_it_and_names_the_fixture(net) -> None:
    def example() -> None:
        with net.example(), net.client() as client:
            net.fault("proxy.test", BUSY, path="*.zip")
            client.get(f"{BASE}.info")

    with pytest.raises(UnfiredFaultError) as raised:
        example()
    assert str(raised.value).splitlines()[1:] == [
        "  gomodnet.fault('proxy.test', Status(code=503, body=b'busy\\n'), path='*.zip'): "
        "never fired: Status(code=503, body=b'busy\\n')",
        "    0 of 1 plan taken; the requests proxy.test saw, nearest first:",
        "      /example.test/m/@v/v1.0.0.info",
    ]
    with net.client() as client:  # the unfired plan went with its example
        assert client.get(f"{BASE}.zip").status_code == 200


def test_an_error_in_the_example_is_not_hidden_by_its_unfired_faults(net) -> None:
    def example() -> None:
        with net.example():
            net.fault("proxy.test", BUSY, path="*.zip")
            raise KeyError("the example's own failure")

    with pytest.raises(KeyError, match="the example's own failure"):
        example()


def test_examples_do_not_nest(net) -> None:
    nested = pytest.raises(RuntimeError, match=r"gomodnet.example\(\) is already open")
    with net.example(), nested, net.example():
        pass


def test_an_examples_log_holds_its_own_exchanges_also_on_a_pooled_connection(net) -> None:
    with net.client() as client:
        with net.example() as first:
            client.get(f"{BASE}.info")
        with net.example() as second:
            net.fault("proxy.test", BUSY, path="*.mod")
            client.get(f"{BASE}.mod")
        client.get(f"{BASE}.zip")  # after both: in neither
    assert [[x.path for x in c.exchanges] for c in first.log] == [
        ["/example.test/m/@v/v1.0.0.info"]
    ]
    [reused] = second.log
    assert reused.mode == "tls, opened before this example"
    assert [(x.path, x.status, x.fault) for x in reused.exchanges] == [
        ("/example.test/m/@v/v1.0.0.mod", 503, repr(BUSY))
    ]
    assert len(net.log[0].exchanges) == 3  # the whole log keeps every exchange
    assert second.faults == ["fault('proxy.test', Status(code=503, body=b'busy\\n'), path='*.mod')"]
    assert net.faults == []


def test_a_log_slice_prints_as_the_report_shows_it(net) -> None:
    with net.client() as client:
        client.get(f"{BASE}.info")
    part = net.log[-1:]
    assert isinstance(part, ConnectionLog)
    assert re.fullmatch(
        r"proxy\.test \[tls\] ended [\w-]+ after (open|[\d.]+ s)\n"  # the Router may lag
        r"  GET /example\.test/m/@v/v1\.0\.0\.info → 200; \d+ B up, \d+ B down; \w+",
        str(part),
    ), str(part)
    assert str(ConnectionLog()) == "(no connections)"


def test_the_story_shows_the_last_example_alone(net) -> None:
    with net.client() as client:
        for status in (404, 410, 503):
            with net.example():
                net.fault("proxy.test", Status(status), path="*.info")
                assert client.get(f"{BASE}.info").status_code == status
    story = net.story()
    assert "Status(code=404" not in story
    assert "Status(code=410" not in story
    assert story.count("GET /example.test/m/@v/v1.0.0.info") == 1
    assert (
        "example 3, the last (hypothesis runs the failing one last); 2 earlier not shown:\n"
        in story
    )
    assert (
        "faults:\n  gomodnet.fault('proxy.test', Status(code=503, body=b''), path='*.info')\n"
        "connections:\nproxy.test [tls, opened before this example]"
    ) in story


# A user's fuzz test of a downloader that caches whatever arrived: it fails on
# every cut inside the body, and hypothesis shrinks to the first body byte.
FUZZ = """
import contextlib, tempfile
import pytest
from pathlib import Path
from hypothesis import HealthCheck, given, settings, strategies as st
from pytest_gomodnet.faults import Truncate

URL = "https://proxy.test/example.test/m/@v/v1.0.0.zip"

def download(client, cache):
    if cache.exists():
        return cache.read_bytes()
    with client.stream("GET", URL) as response, cache.open("wb") as file:
        for chunk in response.iter_bytes():
            file.write(chunk)
    return cache.read_bytes()

@pytest.fixture
def stored(gomodnet, module_store):
    gomodnet.add_goproxy("proxy.test", module_store)
    return module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\\n" * 50})

@settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(0, 400))
def test_cut(gomodnet, stored, at):
    with PER_EXAMPLE, tempfile.TemporaryDirectory() as cache, gomodnet.client() as client:
        gomodnet.fault("proxy.test", Truncate(at), None, path="*.zip")
        with contextlib.suppress(Exception):
            download(client, Path(cache, "m.zip"))
        assert download(client, Path(cache, "m.zip")) == stored.zip_path.read_bytes()
"""


def _gomodnet_section(pytester: pytest.Pytester, per_example: str) -> list[str]:
    pytester.makepyfile(FUZZ.replace("PER_EXAMPLE", per_example))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"-+ gomodnet -+", line))
    # It ends where the next section ("gomodnet evidence"), or the next test, begins.
    end = next(
        i
        for i in range(start + 1, len(lines))
        if lines[i].startswith(("=", "_")) or re.fullmatch(r"-+ .+ -+", lines[i])
    )
    return lines[start + 1 : end]


def test_the_failure_report_shows_exactly_the_failing_shrunk_example(pytester) -> None:
    section = _gomodnet_section(pytester, "gomodnet.example()")
    faults = [line for line in section if "gomodnet.fault(" in line]
    assert len(faults) == 1, "\n".join(section)
    [cut] = re.findall(r"Truncate\(at=(\d+),", faults[0])
    example = next(line for line in section if line.startswith("example "))
    assert re.fullmatch(
        r"example \d+, the last \(hypothesis runs the failing one last\); \d+ earlier not shown:",
        example,
    )
    # The cut request alone: the naive download took its cut file as a cache hit after.
    connections = section[section.index("connections:") + 1 :]
    assert [line for line in connections if not line.startswith("  ")] == [
        "proxy.test [tls] ended fin after " + connections[0].rsplit(" after ", 1)[1]
    ]
    [exchange] = [line for line in connections if line.startswith("  GET ")]
    assert exchange.endswith(f"; fin fault={Truncate(int(cut))!r}")


def test_without_examples_the_report_lists_every_examples_faults(pytester) -> None:
    # The same test on the bare fixture: the degenerate report the example() exists for.
    section = _gomodnet_section(pytester, "contextlib.nullcontext()")
    faults = [line for line in section if "gomodnet.fault(" in line]
    assert len(faults) > 1
    assert not any(line.startswith("example ") for line in section)


def test_a_pasted_log_slice_is_text_not_reprs(net) -> None:
    with net.client() as client, net.example() as example:
        net.fault("proxy.test", Truncate(5, where="body"), path="*.zip")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(f"{BASE}.zip")
    text = textwrap.dedent(str(example.log))
    assert "Connection(" not in text
    assert "fault=Truncate(at=5, close='fin', where='body')" in text


def test_a_check_given_the_example_reads_its_log_when_it_fails(net) -> None:
    with net.client() as client, net.example() as example:
        text_before = example.format_log()
        client.get(f"{BASE}.info")
        assert text_before == "(no connections)"
        settled(lambda: example.log)  # the exchange made after it was passed
        assert example.format_log().endswith("ok"), example.format_log()


def test_the_record_reads_what_came_after_a_mark() -> None:
    """The three kinds of connection an example sees: one a pool goes on using (only its
    new exchanges count), one not yet named at the mark (new), and later ones."""
    from pytest_gomodnet._proxylog import Connection, ConnectionRecord, Exchange

    record = ConnectionRecord()
    done, pooled, unnamed = (Connection(host=h, mode="tls") for h in ("a.test", "b.test", "?"))
    for connection in (done, pooled, unnamed):
        record.opened(connection)
    done.exchanges.append(Exchange("GET", "/old", bytes_up=1))
    pooled.exchanges.append(Exchange("GET", "/before", bytes_up=1))
    record.closed(done)
    mark = record.mark()
    pooled.exchanges.append(Exchange("GET", "/during", bytes_up=1))
    unnamed.host = "c.test"
    later, nameless = Connection(host="d.test", mode="http"), Connection(host="?", mode="?")
    record.opened(later)
    record.opened(nameless)
    grown, new = record.since(mark)
    assert grown == [(pooled, 1)]
    assert new == [unnamed, later]
    record.clear()
    assert record.named() == []
    assert record.since(record.mark()) == ([], [])
