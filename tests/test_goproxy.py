"""The GOPROXY protocol, byte for byte, standalone and through the private network."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from pytest_gomodnet.errors import InvalidPathError, InvalidVersionError
from pytest_gomodnet.goproxy import GoProxy, ModuleStore

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
        assert client.get("/example.test/!upper/m/@v/v9.0.0.zip").status_code == 410


def test_adding_an_invalid_module_raises_the_model_error(module_store) -> None:
    with pytest.raises(InvalidPathError, match='malformed module path "example/m"'):
        module_store.add("example/m", "v1.0.0")
    with pytest.raises(InvalidVersionError, match="should be v0 or v1, not v2"):
        module_store.add("example.test/m", "v2.0.0")


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
