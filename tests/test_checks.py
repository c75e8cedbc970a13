"""The checks pass what is right, and fail what is wrong with a story a stranger can read."""

from __future__ import annotations

import http.client
import io
import re
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from pytest_gomodnet.checks import (
    assert_failed_within,
    assert_no_partial_success,
    assert_not_poisoned,
    assert_retried,
    h1_of_zip,
)
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.modules import build_zip, zip_h1


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("example.test/m@v1.0.0/go.mod", "module example.test/m\n")
        archive.writestr("example.test/m@v1.0.0/m.go", "package m\n" * 100)
    return buffer.getvalue()


ZIP = _zip()
GO_MOD = b"module example.test/m\n"


@dataclass(frozen=True)
class Connection:
    """Stands in for a Router log entry: the checks read only these fields."""

    host: str
    path: str
    ended: str

    def __str__(self) -> str:
        return f"{self.host} GET {self.path}: {self.ended}"


# --- h1 ------------------------------------------------------------------------------


def test_h1_of_zip_is_the_sum_go_computes(go: GoToolchain, tmp_path: Path) -> None:
    versions = tmp_path / "proxy" / "example.test" / "m" / "@v"
    versions.mkdir(parents=True)
    (versions / "v1.0.0.zip").write_bytes(ZIP)
    (versions / "v1.0.0.mod").write_bytes(GO_MOD)
    (versions / "v1.0.0.info").write_text('{"Version": "v1.0.0"}')
    result = go.run(
        "mod", "download", "-json", "example.test/m@v1.0.0",
        home=tmp_path, env={"GOPROXY": (tmp_path / "proxy").as_uri()},
    ).check()  # fmt: skip
    (download,) = result.json_objects()
    assert h1_of_zip(ZIP) == download["Sum"]
    assert assert_no_partial_success(GO_MOD, download["GoModSum"]) == GO_MOD
    with pytest.raises(AssertionError):
        assert_no_partial_success(GO_MOD[:8], download["GoModSum"])


# --- assert_no_partial_success ----------------------------------------------------------


def test_the_right_bytes_or_an_error_pass() -> None:
    assert assert_no_partial_success(ZIP, ZIP) == ZIP
    assert assert_no_partial_success(ZIP, h1_of_zip(ZIP)) == ZIP
    error = ConnectionError("unexpected EOF")
    assert assert_no_partial_success(error, ZIP) is error
    assert assert_no_partial_success(None, ZIP) is None


def test_a_callable_is_run_and_its_exception_counts_as_failure() -> None:
    def client() -> bytes:
        raise OSError("connection reset")

    outcome = assert_no_partial_success(client, ZIP)
    assert isinstance(outcome, OSError)
    assert assert_no_partial_success(lambda: ZIP, ZIP) == ZIP


def test_a_cut_artifact_fails_with_the_whole_story() -> None:
    log = [Connection("proxy.test", "/example.test/m/@v/v1.0.0.zip", "cut after 100 bytes")]
    with pytest.raises(AssertionError) as caught:
        assert_no_partial_success(ZIP[:100], ZIP, fault="Truncate(at=100)", log=log)
    story = str(caught.value)
    assert story.splitlines()[0] == (
        "partial success: the client returned an artifact that is not the right one"
    )
    assert "  returned: 100 bytes, sha256 " in story
    assert (
        f"  so: they are the first 100 of {len(ZIP):,} bytes: "
        "a cut response returned as if it were whole"
    ) in story
    assert "  fault: 'Truncate(at=100)'" in story
    assert story.endswith(
        "  connections:\n    1. proxy.test GET /example.test/m/@v/v1.0.0.zip: cut after 100 bytes"
    )


def test_a_wrong_file_on_disk_is_named(tmp_path: Path) -> None:
    written = tmp_path / "v1.0.0.zip"
    written.write_bytes(ZIP[:-1] + b"X")
    with pytest.raises(AssertionError, match=re.escape(f"(in {written})")) as caught:
        assert_no_partial_success(written, ZIP)
    assert f"differ from the expected bytes first at offset {len(ZIP) - 1:,}" in str(caught.value)
    assert assert_no_partial_success(tmp_path / "never-written.zip", ZIP) is None


def test_against_a_hash_a_cut_zip_is_named_unreadable() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_no_partial_success(ZIP[:-10], h1_of_zip(ZIP))
    assert "it is not a readable zip (" in str(caught.value)
    assert f"expected: {h1_of_zip(ZIP)}" in str(caught.value)


def test_extra_bytes_are_partial_success_too() -> None:
    with pytest.raises(AssertionError, match="followed by 3 more"):
        assert_no_partial_success(ZIP + b"abc", ZIP)


def test_no_log_says_so() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_no_partial_success(b"x", ZIP)
    assert str(caught.value).endswith("  connections:\n    (no log given)")


# A small module zip, one deflated entry: every byte of it corrupted every way (41,310 cases).
SMALL_ZIP = build_zip("example.test/m", "v1.0.0", {"m.go": b"package m\n"})
assert SMALL_ZIP is not None


def _corruptions(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    for at in range(len(data)):
        for xor in range(1, 256):
            corrupted = bytearray(data)
            corrupted[at] ^= xor
            yield at, xor, bytes(corrupted)


def test_every_single_byte_corruption_of_a_zip_gets_a_verdict() -> None:
    """Against its h1: pass exactly when the damaged zip still hashes the same, else an
    AssertionError with the story; never zipfile's RuntimeError or NotImplementedError."""
    expected = h1_of_zip(SMALL_ZIP)
    verdicts: Counter[str] = Counter()
    for at, xor, corrupted in _corruptions(SMALL_ZIP):
        try:
            same = zip_h1(corrupted) == expected
        except Exception as exc:  # the reason is the verdict's to name
            same, reason = False, f"it is not a readable zip ({type(exc).__name__}: {exc})"
        else:
            reason = "its zip hash is "
        try:
            assert_no_partial_success(corrupted, expected, fault=f"byte {at} ^ {xor:#04x}")
        except AssertionError as verdict:
            story = str(verdict)
            assert not same, (at, xor)
            assert story.startswith("partial success: the client returned an artifact"), story
            assert f"  so: {reason}" in story, (at, xor, story)
            assert f"  fault: 'byte {at} ^ {xor:#04x}'" in story
            kind = reason.partition("(")[2].partition(":")[0] or "another h1"
            verdicts[f"fail, {kind}"] += 1
        else:
            assert same, (at, xor)
            verdicts["pass: same h1"] += 1
    assert sum(verdicts.values()) == len(SMALL_ZIP) * 255
    # The cases that used to escape as exceptions are named now, among the others.
    assert verdicts["fail, RuntimeError"] > 0  # the encrypted flag
    assert verdicts["fail, NotImplementedError"] > 0  # an unknown method or zip version
    assert verdicts["fail, BadZipFile"] > 0
    assert verdicts["pass: same h1"] > 0  # dates, attributes, the local header's name copy


def test_against_the_bytes_every_corruption_fails() -> None:
    for at, _, corrupted in _corruptions(SMALL_ZIP):
        with pytest.raises(AssertionError) as caught:
            assert_no_partial_success(corrupted, SMALL_ZIP)
        assert f"  so: they differ from the expected bytes first at offset {at:,}\n" in str(
            caught.value
        )


@pytest.mark.parametrize(
    "outcome",
    [0, True, 1.5, {"zip": b""}, [b"x"], object()],
    ids=["int", "bool", "float", "dict", "list", "object"],
)
def test_an_outcome_of_an_unknown_type_is_a_type_error(outcome: object) -> None:
    for result in (outcome, lambda: outcome):
        with pytest.raises(TypeError) as caught:
            assert_no_partial_success(result, ZIP)  # type: ignore[arg-type]
        assert str(caught.value) == (
            f"the client's outcome is a {type(outcome).__name__} ({outcome!r:.80}), which the "
            "check cannot judge: pass bytes, bytearray or memoryview (the artifact), str or "
            "os.PathLike (the file written), None (nothing delivered), an exception (the error "
            "raised), or a zero-argument callable returning one of these"
        )


def test_a_do_nothing_client_handing_back_its_response_object_gets_a_type_error() -> None:
    response = httpx.Response(200, content=ZIP)
    with pytest.raises(
        TypeError, match=r"^the client's outcome is a Response \(<Response \[200 OK\]>\)"
    ):
        assert_no_partial_success(lambda: response, ZIP)  # type: ignore[arg-type,return-value]
    assert assert_no_partial_success(lambda: response.content, ZIP) == ZIP


def test_expected_must_be_bytes_or_an_h1_hash() -> None:
    with pytest.raises(
        ValueError, match=r"^expected='v1.0.0.zip' is neither bytes nor an h1: hash"
    ):
        assert_no_partial_success(ZIP, "v1.0.0.zip")
    with pytest.raises(TypeError, match=r"^expected is a int: pass the artifact's bytes"):
        assert_no_partial_success(ZIP, 3)  # type: ignore[arg-type]


# --- assert_failed_within ---------------------------------------------------------------


def test_failing_in_time_returns_the_exception() -> None:
    def client() -> bytes:
        raise TimeoutError("read timed out")

    exc = assert_failed_within(1.0, client)
    assert isinstance(exc, TimeoutError)


def test_returning_instead_of_failing_is_reported() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_failed_within(1.0, lambda: b"partial", fault="Stall(at=10, seconds=5)", log=[])
    story = str(caught.value)
    assert re.match(r"no failure: the client returned after 0\.\d\d s instead of raising", story)
    assert "  returned: 7 bytes, sha256 " in story
    assert story.endswith(
        "  fault: 'Stall(at=10, seconds=5)'\n  connections:\n    (no connections)"
    )


def test_failing_too_late_is_reported() -> None:
    def slow_client() -> None:
        time.sleep(0.12)
        raise TimeoutError("read timed out")

    with pytest.raises(AssertionError, match=r"too slow: the client failed after 0\.1\d s, past"):
        assert_failed_within(0.05, slow_client)


def test_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match=re.escape("deadline=0 must be a positive number")):
        assert_failed_within(0, lambda: None)


# --- assert_retried -----------------------------------------------------------------------


LOG = [
    Connection("proxy.test", "/m/@v/v1.0.0.zip", "cut after 100 bytes"),
    Connection("proxy.test", "/m/@v/v1.0.0.info", "complete"),
    Connection("proxy.test", "/m/@v/v1.0.0.zip", "complete"),
    Connection("other.test", "/m/@v/v1.0.0.zip", "complete"),
]


def test_retries_are_counted_per_host_and_path() -> None:
    assert assert_retried(1, LOG, host="proxy.test", path="/m/@v/v1.0.0.zip") == [LOG[0], LOG[2]]
    assert assert_retried(0, LOG, path="/m/@v/v1.0.0.info") == [LOG[1]]
    assert len(assert_retried(3, LOG)) == 4


def test_a_missing_retry_is_reported_with_the_log() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_retried(2, LOG, host="proxy.test", path="/m/@v/v1.0.0.zip", fault="Reset(at=0)")
    story = str(caught.value)
    assert story.splitlines()[0] == (
        "retries: expected 3 attempt(s) at proxy.test /m/@v/v1.0.0.zip (2 retries), saw 2"
    )
    assert "    4. other.test GET /m/@v/v1.0.0.zip: complete" in story


def test_dict_entries_work_too() -> None:
    assert len(assert_retried(0, [{"host": "a.test", "path": "/x"}], host="a.test")) == 1


# --- assert_not_poisoned ----------------------------------------------------------------


@pytest.fixture
def mirror() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def test_a_mirror_serving_the_right_zip_passes(mirror: HTTPServer) -> None:
    mirror.expect_request("/example.test/!upper/@v/v1.0.0-!r!c.zip").respond_with_data(ZIP)
    served = assert_not_poisoned(
        mirror.url_for("/"), "example.test/Upper", "v1.0.0-RC", h1_of_zip(ZIP)
    )
    assert served == ZIP


def test_a_mirror_answering_an_error_passes(mirror: HTTPServer) -> None:
    mirror.expect_request("/example.test/m/@v/v1.0.0.zip").respond_with_data("gone", status=502)
    assert assert_not_poisoned(mirror.url_for("/"), "example.test/m", "v1.0.0", ZIP) is None


def test_a_mirror_that_kept_the_cut_zip_is_poisoned(mirror: HTTPServer) -> None:
    mirror.expect_request("/example.test/m/@v/v1.0.0.zip").respond_with_data(ZIP[:200])
    with pytest.raises(AssertionError) as caught:
        assert_not_poisoned(
            mirror.url_for("/"), "example.test/m", "v1.0.0", ZIP, fault="Truncate(at=200)"
        )
    story = str(caught.value)
    assert story.splitlines()[0] == (
        f"poisoned: after the fault, a clean GET {mirror.url_for('/example.test/m/@v/v1.0.0.zip')}"
        " got 200 with the wrong artifact"
    )
    assert f"  so: they are the first 200 of {len(ZIP):,} bytes" in story


class _DoNothingClient:
    """A client object that does nothing: its get returns None."""

    def get(self, url: str) -> None:
        return None


class _RaisingClient:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def get(self, url: str) -> httpx.Response:
        raise self.error


@pytest.mark.parametrize(
    ("client", "error"),
    [
        (object(), AttributeError),
        (_DoNothingClient(), AttributeError),
        (_RaisingClient(TypeError("get() takes 1 positional argument")), TypeError),
        (_RaisingClient(KeyError("cache")), KeyError),
    ],
    ids=["not a client", "does nothing", "wrong signature", "a bug"],
)
def test_a_wrong_client_is_not_a_refusal(mirror: HTTPServer, client: object, error: type) -> None:
    with pytest.raises(error):
        assert_not_poisoned(mirror.url_for("/"), "example.test/m", "v1.0.0", ZIP, client=client)


@pytest.mark.parametrize(
    "refusal",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.HTTPStatusError(
            "502", request=httpx.Request("GET", "https://m.test/"), response=httpx.Response(502)
        ),
        ConnectionResetError("reset"),
        http.client.IncompleteRead(b"PK"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transport_and_status_errors_are_refusals(mirror: HTTPServer, refusal: Exception) -> None:
    client = _RaisingClient(refusal)
    url = mirror.url_for("/")
    assert assert_not_poisoned(url, "example.test/m", "v1.0.0", ZIP, client=client) is None


def test_an_unreachable_mirror_counts_as_an_error(mirror: HTTPServer) -> None:
    url = mirror.url_for("/")
    mirror.stop()
    assert assert_not_poisoned(url, "example.test/m", "v1.0.0", ZIP) is None
    mirror.start()


def test_assert_retried_counts_router_exchanges(gomodnet, module_store) -> None:
    from pytest_gomodnet.faults import Truncate

    module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.fault("proxy.test", Truncate(10, where="body"), None, path="*.zip")
    url = "https://proxy.test/example.test/m/@v/v1.0.0"
    with gomodnet.client() as client:
        client.get(f"{url}.info")
        for _ in range(2):
            try:
                client.get(f"{url}.zip")
            except Exception:
                continue
    attempts = assert_retried(1, gomodnet.log, host="proxy.test", path="*.zip")
    assert [a["exchange"].fault for a in attempts] == [
        "Truncate(at=10, close='fin', where='body')",
        None,
    ]
    with pytest.raises(AssertionError, match=r"expected 3 attempt\(s\) at proxy.test \*.zip"):
        assert_retried(2, gomodnet.log, host="proxy.test", path="*.zip")
