"""Faults aimed at one URL: each framing's exact bytes, offsets inside them, armed per example.

The strategy is checked against the network, not against itself: what an armed
cut delivers on the wire must be exactly the drawn prefix of the drawn framing's
bytes, and those bytes must be what a clean client receives in that framing.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet.errors import FaultPlanError
from pytest_gomodnet.faults import Corrupt, Truncate
from pytest_gomodnet.framing import FRAMINGS
from pytest_gomodnet.strategies import AimedFault, response_boundaries

MODULE, VERSION = "example.test/m", "v1.0.0"
ZIP_URL = f"https://proxy.test/{MODULE}/@v/{VERSION}.zip"
FILES = {f"f{i}.go": b"package m\n// " + bytes([97 + i]) * 9000 + b"\n" for i in range(4)}
PER_TEST = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FRAMED_BY = {
    "content-length": b"\r\nContent-Length: ",
    "chunked": b"\r\nTransfer-Encoding: chunked\r\n",
    "close": b"\r\nConnection: close\r\n",
}


@pytest.fixture
def stored(gomodnet, module_store):
    gomodnet.add_goproxy("proxy.test", module_store)
    return module_store.add(MODULE, VERSION, files=FILES)


def test_each_framing_is_fetched_as_a_client_receives_it(gomodnet, stored) -> None:
    zip_bytes = stored.zip_path.read_bytes()
    for framing in FRAMINGS:
        response = gomodnet.response_bytes(ZIP_URL, framing=framing)
        head, _, _ = response.partition(b"\r\n\r\n")
        assert FRAMED_BY[framing] in head + b"\r\n", framing
        if framing != "chunked":
            assert response.endswith(zip_bytes)
    # The host's own framing is back afterwards.
    assert gomodnet.response_bytes(ZIP_URL).startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: %d" % len(zip_bytes) in gomodnet.response_bytes(ZIP_URL)


def test_fetching_a_framing_puts_back_the_one_it_replaced(gomodnet, stored) -> None:
    path = f"/{MODULE}/@v/{VERSION}.zip"
    gomodnet.frame("proxy.test", "chunked", path=path)
    gomodnet.response_bytes(ZIP_URL, framing="close")
    assert b"Transfer-Encoding: chunked" in gomodnet.response_bytes(ZIP_URL)


@pytest.fixture
def cuts(gomodnet, stored):
    return gomodnet.aimed_faults(ZIP_URL, kinds=[Truncate])


@PER_TEST
@given(data=st.data())
def test_an_armed_cut_delivers_exactly_the_drawn_prefix(gomodnet, cuts, data) -> None:
    cut = data.draw(cuts.filter(lambda c: c.plan.close == "fin"), label="cut")
    assert isinstance(cut, AimedFault)
    assert 0 <= cut.plan.at < len(cut.response)
    with gomodnet.example() as example:
        cut.arm()
        delivered = gomodnet.response_bytes(ZIP_URL)
    assert delivered == cut.response[: cut.plan.at]
    [connection] = example.log
    [exchange] = connection.exchanges
    assert (exchange.fault, exchange.framing) == (repr(cut.plan), cut.framing)


def test_every_framing_is_drawn_and_offsets_lean_on_boundaries(gomodnet, stored) -> None:
    strategy = gomodnet.aimed_faults(ZIP_URL, kinds=[Truncate, Corrupt])
    drawn: list[AimedFault] = []

    @settings(max_examples=300, database=None, derandomize=True, deadline=None)
    @given(strategy)
    def record(cut: AimedFault) -> None:
        drawn.append(cut)

    record()
    assert {c.framing for c in drawn} == set(FRAMINGS)
    assert {type(c.plan) for c in drawn} == {Truncate, Corrupt}
    edges = {c.response: {b.offset for b in response_boundaries(c.response)} for c in drawn}
    assert sum(c.plan.at in edges[c.response] for c in drawn) > len(drawn) * 0.4
    assert all(c.plan.where is None and c.plan.at < len(c.response) for c in drawn)


def test_a_drawn_fault_shows_as_what_it_is() -> None:
    cut = AimedFault(ZIP_URL, "chunked", Truncate(5), b"HTTP/1.1 200 OK\r\n", _network=None)  # type: ignore[arg-type]
    assert repr(cut) == (
        f"AimedFault(url={ZIP_URL!r}, framing='chunked', "
        "plan=Truncate(at=5, close='fin', where=None))"
    )
    assert (cut.host, cut.path) == ("proxy.test", f"/{MODULE}/@v/{VERSION}.zip")


def test_bad_framings_are_named(gomodnet, stored) -> None:
    with pytest.raises(InvalidArgument, match=r"framings=\[\] must be a non-empty sequence"):
        gomodnet.aimed_faults(ZIP_URL, framings=[])
    with pytest.raises(InvalidArgument, match=r"framings='close' must be a non-empty sequence"):
        gomodnet.aimed_faults(ZIP_URL, framings="close")  # type: ignore[arg-type]
    with pytest.raises(FaultPlanError, match="gzip"):
        gomodnet.aimed_faults(ZIP_URL, framings=["gzip"])  # type: ignore[list-item]
