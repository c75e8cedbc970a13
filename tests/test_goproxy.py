"""The GOPROXY protocol, byte for byte, standalone and through the private network."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import httpx
import pytest
from werkzeug import Request
from werkzeug.test import EnvironBuilder

from _helpers import exchange
from pytest_gomodnet.errors import InvalidPathError, InvalidVersionError, ModuleError
from pytest_gomodnet.goproxy import _FILE_BLOCK, GoProxy, ModuleStore
from pytest_gomodnet.modules import build_zip, zip_h1

PATH = "example.test/Upper/m"


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(PATH, "v1.0.0", files={"m.go": b"package m\n"})
    module_store.add(PATH, "v1.1.0-RC", files={"m.go": b"package m\n"}, time="2026-02-01T00:00:00Z")
    module_store.add(PATH, "v0.0.0-20260101000000-abcdefabcdef")
    return module_store


@pytest.fixture
def proxy(store: ModuleStore) -> Iterator[httpx.Client]:
    with GoProxy(store) as server, httpx.Client(base_url=server.url) as client:
        yield client


def test_list_omits_pseudo_versions_and_is_semver_sorted(proxy) -> None:
    response = proxy.get("/example.test/!upper/m/@v/list")
    assert (response.status_code, response.text) == (200, "v1.0.0\nv1.1.0-RC\n")


def test_info_mod_zip_are_the_stored_bytes(proxy, store) -> None:
    stored = store.get(PATH, "v1.1.0-RC")
    base = "/example.test/%21upper/m/@v/v1.1.0-%21r%21c"
    info = proxy.get(f"{base}.info")
    assert json.loads(info.content) == {"Version": "v1.1.0-RC", "Time": "2026-02-01T00:00:00Z"}
    assert proxy.get(f"{base}.mod").content == b"module example.test/Upper/m\n"
    zip_response = proxy.get(f"{base}.zip")
    assert zip_response.content == stored.zip_path.read_bytes()
    assert zip_response.headers["content-length"] == str(stored.zip_path.stat().st_size)


def test_latest_prefers_a_release(proxy) -> None:
    assert proxy.get("/example.test/!upper/m/@latest").json()["Version"] == "v1.0.0"


def test_info_and_latest_are_compact_json_byte_for_byte(proxy) -> None:
    # The public proxy's form: no spaces, Version then Time.
    expected = b'{"Version":"v1.1.0-RC","Time":"2026-02-01T00:00:00Z"}'
    info = proxy.get("/example.test/!upper/m/@v/v1.1.0-!r!c.info")
    assert (info.status_code, info.content) == (200, expected)
    assert info.headers["content-type"] == "application/json"
    latest = proxy.get("/example.test/!upper/m/@latest")
    assert latest.content == b'{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}'


def test_info_with_origin_is_byte_exact(module_store) -> None:
    origin = {"VCS": "git", "URL": "https://code.test/m", "Ref": "refs/tags/v1.0.0"}
    module_store.add("example.test/m", "v1.0.0", origin=origin)
    with GoProxy(module_store) as server, httpx.Client(base_url=server.url) as client:
        body = client.get("/example.test/m/@v/v1.0.0.info").content
    assert body == (
        b'{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z","Origin":'
        b'{"VCS":"git","URL":"https://code.test/m","Ref":"refs/tags/v1.0.0"}}'
    )


def test_every_request_is_logged_as_sent_with_its_status(store) -> None:
    with GoProxy(store) as server, httpx.Client(base_url=server.url) as client:
        client.get("/example.test/%21upper/m/@v/list")
        client.head("/example.test/!upper/m/@v/v1.0.0.zip")
        client.get("/example.test/!upper/m/@v/v9.0.0.mod")
        client.post("/example.test/!upper/m/@v/list")
    assert server.log == [
        ("GET", "/example.test/%21upper/m/@v/list", 200),
        ("HEAD", "/example.test/!upper/m/@v/v1.0.0.zip", 200),
        ("GET", "/example.test/!upper/m/@v/v9.0.0.mod", 404),
        ("POST", "/example.test/!upper/m/@v/list", 405),
    ]


def test_the_network_proxy_logs_too(gomodnet, store) -> None:
    goproxy = gomodnet.add_goproxy("proxy.test", store, missing_status=410)
    with gomodnet.client() as client:
        assert client.get("https://proxy.test/example.test/!upper/m/@v/list").status_code == 200
        assert client.get("https://proxy.test/example.test/!upper/m/@latest").status_code == 200
        assert client.get("https://proxy.test/example.test/x/@v/list").status_code == 410
    assert goproxy.log == [
        ("GET", "/example.test/!upper/m/@v/list", 200),
        ("GET", "/example.test/!upper/m/@latest", 200),
        ("GET", "/example.test/x/@v/list", 410),
    ]


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        (
            "/example.test/Upper/m/@v/list",
            404,
            'not found: invalid escaped module path "example.test/Upper/m"',
        ),
        (
            "/example.test/!upper/m/@v/v9.0.0.info",
            404,
            "not found: example.test/Upper/m@v9.0.0: invalid version: unknown revision v9.0.0",
        ),
        (
            "/example.test/nothing/@v/list",
            404,
            "not found: module example.test/nothing: no matching versions",
        ),
        (
            "/example.test/%2e%2e/m/@v/list",
            404,
            'not found: malformed module path "example.test/../m": invalid path element ".."',
        ),
        (
            "/sumdb/sum.golang.org/supported",
            404,
            "not found: this proxy does not proxy a checksum database",
        ),
        ("/robots.txt", 404, "not found: '/robots.txt' is not a GOPROXY endpoint"),
    ],
)
def test_what_cannot_be_served_is_a_one_line_404(proxy, url, status, text) -> None:
    response = proxy.get(url)
    assert (response.status_code, response.text) == (status, text + "\n")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_410_is_selectable(store) -> None:
    with GoProxy(store, missing_status=410) as server, httpx.Client(base_url=server.url) as client:
        missing = client.get("/example.test/!upper/m/@v/v9.0.0.zip")
        no_module = client.get("/example.test/nothing/@v/list")
        bad_path = client.get("/example.test/Upper/m/@v/list")
    assert (missing.status_code, missing.reason_phrase, missing.text) == (
        410,
        "Gone",
        "not found: example.test/Upper/m@v9.0.0: invalid version: unknown revision v9.0.0\n",
    )
    assert (no_module.status_code, no_module.text) == (
        410,
        "not found: module example.test/nothing: no matching versions\n",
    )
    assert bad_path.status_code == 404  # an invalid request is not "gone"
    with pytest.raises(ValueError, match="missing_status=500 must be 404 or 410"):
        GoProxy(store, missing_status=500)


def _raw_get(url: str, target: str) -> bytes:
    """GET ``target`` exactly as written: no client normalises the dots away."""
    port = int(url.rsplit(":", 1)[1])
    request = f"GET {target} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n"
    return exchange(port, request.encode())


@pytest.mark.parametrize(
    ("target", "text"),
    [
        (
            "/example.test/!upper/m/../../../etc/passwd/@v/list",
            'not found: malformed module path "example.test/Upper/m/../../../etc/passwd": '
            'invalid path element ".."',
        ),
        (
            "/%2e%2e/%2e%2e/etc/passwd/@v/list",
            'not found: malformed module path "../../etc/passwd": invalid path element ".."',
        ),
        (
            "/example.test/!upper/m/@v/%2e%2e%2f%2e%2e%2fgo.mod.zip",
            'not found: invalid escaped version "../../go.mod"',
        ),
        (
            "/example.test/!upper/m/@v/../../../../etc/passwd.zip",
            'not found: invalid escaped version "../../../../etc/passwd"',
        ),
        ("/../../etc/passwd", "not found: '/../../etc/passwd' is not a GOPROXY endpoint"),
    ],
)
def test_traversal_never_reaches_the_store_directory(store, target, text) -> None:
    with GoProxy(store) as server:
        response = _raw_get(server.url, target)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 404 Not Found"
    assert body == (text + "\n").encode()


@pytest.mark.parametrize(
    ("url", "text"),
    [
        # Upper case must be !-escaped in versions too.
        ("/example.test/!upper/m/@v/v1.1.0-RC.info", 'invalid escaped version "v1.1.0-RC"'),
        ("/example.test/!upper/m/@v/v1.1.0-!R!C.info", 'invalid escaped version "v1.1.0-!R!C"'),
        ("/example.test/!Upper/m/@v/list", 'invalid escaped module path "example.test/!Upper/m"'),
        ("/example.test/!upper/m/@v/v1.0.info", "example.test/Upper/m@v1.0: invalid version"),
    ],
)
def test_wrongly_escaped_requests_get_a_one_line_404(proxy, url, text) -> None:
    response = proxy.get(url)
    assert response.status_code == 404
    assert response.text.startswith(f"not found: {text}")
    assert response.text.endswith("\n")
    assert response.text.count("\n") == 1


def test_adding_an_invalid_module_raises_the_model_error(module_store) -> None:
    with pytest.raises(InvalidPathError, match='malformed module path "example/m"'):
        module_store.add("example/m", "v1.0.0")
    with pytest.raises(InvalidVersionError, match="should be v0 or v1, not v2"):
        module_store.add("example.test/m", "v2.0.0")


def test_a_version_added_again_with_other_content_is_refused(module_store) -> None:
    first = module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n"})
    for change, differs in [
        ({"files": {"m.go": b"package m // changed\n"}}, "zip h1:"),
        ({"files": {"m.go": b"package m\n"}, "go_mod": b"module example.test/m\n\ngo 1.27\n"},
         "go.mod h1:"),
        ({"files": {"m.go": b"package m\n"}, "time": "2027-01-01T00:00:00Z"},
         "time 2026-01-01T00:00:00Z → 2027-01-01T00:00:00Z"),
    ]:  # fmt: skip
        with pytest.raises(ModuleError) as caught:
            module_store.add("example.test/m", "v1.0.0", **change)
        message = str(caught.value)
        assert message.startswith(
            "example.test/m@v1.0.0 is already in the store with other content ("
        )
        assert differs in message
        assert message.endswith(
            "): a published version never changes (go.sum pins it), so add a new version, "
            "or use another ModuleStore"
        )
    # The stored version and its zip are untouched, and nothing is left half-built.
    assert module_store.get("example.test/m", "v1.0.0") is first
    assert zip_h1(first.zip_path) == first.h1
    assert sorted(p.name for p in first.zip_path.parent.iterdir()) == ["v1.0.0.zip"]


def test_the_same_version_added_again_is_the_one_stored(module_store) -> None:
    first = module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n"})
    again = module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n"})
    assert again is first


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"files": {"m.go": "package m\n"}},
         "files['m.go'] is a str: pass bytes (a b'...' literal, or text.encode())"),
        ({"go_mod": "module example.test/m\n"},
         "go_mod is a str: pass bytes (a b'...' literal, or text.encode())"),
        ({"files": {"m.go": 42}}, "files['m.go'] is a int: pass bytes"),
    ],
)  # fmt: skip
def test_a_file_body_must_be_bytes(module_store, kwargs, message) -> None:
    with pytest.raises(TypeError) as caught:
        module_store.add("example.test/m", "v1.0.0", **kwargs)
    assert str(caught.value) == message
    with pytest.raises(TypeError, match=r"^files\['m.go'\] is a str: pass bytes"):
        build_zip("example.test/m", "v1.0.0", {"m.go": "package m\n"})  # type: ignore[dict-item]


def test_go_lists_versions_through_the_network(go, tmp_path, gomodnet, store) -> None:
    gomodnet.add_goproxy("proxy.test", store)
    result = go.run("list", "-m", "-versions", PATH, home=tmp_path, env=gomodnet.go_env())
    assert result.check().stdout == f"{PATH} v1.0.0 v1.1.0-RC\n"
    # On the wire "!" is percent-encoded, and go also reads the latest version's .info and .mod.
    paths = [x.path for c in gomodnet.log for x in c.exchanges]
    assert paths == [
        "/example.test/%21upper/m/@v/list",
        "/example.test/%21upper/m/@v/v1.0.0.info",
        "/example.test/%21upper/m/@v/v1.0.0.mod",
    ]


def test_info_carries_origin_and_go_reports_it(go, tmp_path, gomodnet, module_store) -> None:
    origin = {
        "VCS": "git",
        "URL": "https://code.test/m",
        "Hash": "a" * 40,
        "Ref": "refs/tags/v1.0.0",
    }
    module_store.add("example.test/m", "v1.0.0", origin=origin)
    gomodnet.add_goproxy("proxy.test", module_store)
    with gomodnet.client() as client:
        info = client.get("https://proxy.test/example.test/m/@v/v1.0.0.info").json()
    assert info == {"Version": "v1.0.0", "Time": "2026-01-01T00:00:00Z", "Origin": origin}
    result = go.run(
        "mod", "download", "-json", "example.test/m@v1.0.0", home=tmp_path, env=gomodnet.go_env()
    )
    (downloaded,) = result.check().json_objects()
    assert downloaded["Origin"] == origin


def test_zip_is_streamed_in_blocks_with_its_exact_length(module_store) -> None:
    # Incompressible: the zip stays ~2.5 MB, more than two of the blocks GoProxy reads.
    noise = random.Random(5).randbytes(2_500_000)
    stored = module_store.add("example.test/big", "v1.0.0", files={"blob.bin": noise})
    zip_bytes = stored.zip_path.read_bytes()
    request = Request(EnvironBuilder(path="/example.test/big/@v/v1.0.0.zip").get_environ())
    response = GoProxy(module_store).handle(request)
    assert (response.is_streamed, response.content_length) == (True, len(zip_bytes))
    blocks = list(response.response)
    response.close()
    assert [len(b) for b in blocks[:-1]] == [_FILE_BLOCK] * (len(zip_bytes) // _FILE_BLOCK)
    assert b"".join(blocks) == zip_bytes
