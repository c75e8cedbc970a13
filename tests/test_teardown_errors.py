"""An exception inside a server or Router thread is never dropped.

It surfaces at the teardown of the fixture that owns the server, as a test
error carrying the original traceback, even when the test itself passed.
These run a small test file through pytester and read its report.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest
from werkzeug import Response

from pytest_gomodnet import faultproxy, faults
from pytest_gomodnet.errors import ServerError
from pytest_gomodnet.faultproxy import FaultProxy
from pytest_gomodnet.network import Network
from pytest_gomodnet.origin import HandlerServer, Origin

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()


def _run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def test_a_handler_error_is_a_teardown_error_of_the_gomodnet_test(pytester) -> None:
    result = _run(
        pytester,
        """
        def broken(request):
            raise RuntimeError("handler bug")

        def test_uses_a_broken_handler(gomodnet):
            gomodnet.add_handler("broken.test", broken)
            with gomodnet.client() as client:
                response = client.get("https://broken.test/x")
            assert response.status_code == 500
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_uses_a_broken_handler*",
            '*raise RuntimeError("handler bug")*',
            "*The above exception was the direct cause of the following exception*",
            "*ServerError: a virtual host's handler failed: RuntimeError('handler bug')",
        ]
    )


def test_an_error_inside_the_router_is_a_teardown_error_of_the_gomodnet_test(pytester) -> None:
    # The handler returns normally; its body breaks while the Router streams it,
    # so the exception is raised in the Router's own thread, not in the handler call.
    result = _run(
        pytester,
        """
        import contextlib

        import httpx
        from werkzeug import Response

        def body():
            yield b"first block"
            raise RuntimeError("body bug")

        def streams_a_broken_body(request):
            return Response(body(), content_type="application/octet-stream")

        def test_gets_a_broken_body(gomodnet):
            gomodnet.add_handler("broken.test", streams_a_broken_body)
            # The body has no length, so the client may take the cut for its end:
            # the teardown error below is what makes the bug visible.
            with gomodnet.client() as client, contextlib.suppress(httpx.HTTPError):
                client.get("https://broken.test/x")
            (connection,) = gomodnet.log
            assert connection.ended == "proxy-error: RuntimeError('body bug')"
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_gets_a_broken_body*",
            '*raise RuntimeError("body bug")*',
            "*The above exception was the direct cause of the following exception*",
            "*ServerError: Router failed: RuntimeError('body bug')",
        ]
    )


def test_an_error_inside_a_fault_proxy_is_a_teardown_error(pytester) -> None:
    # A fault engine that breaks stands for any bug in the proxy's thread.
    result = _run(
        pytester,
        """
        import httpx
        import pytest
        from werkzeug import Response
        from pytest_gomodnet import faultproxy, faults
        from pytest_gomodnet.origin import HandlerServer

        class BrokenEngine(faultproxy.ResponseEngine):
            def feed(self, data):
                raise RuntimeError("engine bug")

        def test_goes_through_a_broken_proxy(fault_proxy, monkeypatch):
            monkeypatch.setattr(faults, "ResponseEngine", BrokenEngine)
            with HandlerServer(lambda request: Response(b"hello")) as upstream:
                proxy = fault_proxy(upstream.url)
                with httpx.Client(base_url=proxy.url, timeout=5) as client:
                    with pytest.raises(httpx.RemoteProtocolError):
                        client.get("/x")
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_goes_through_a_broken_proxy*",
            '*raise RuntimeError("engine bug")*',
            "*The above exception was the direct cause of the following exception*",
            "*ServerError: FaultProxy failed: RuntimeError('engine bug')",
        ]
    )


def test_a_goproxy_handler_error_is_raised_when_its_server_stops(pytester) -> None:
    result = _run(
        pytester,
        """
        import httpx
        from pytest_gomodnet.goproxy import GoProxy

        class BrokenStore:
            def get(self, path, version):
                raise OSError("disk gone")

        def test_serves_from_a_broken_store(module_store):
            proxy = GoProxy(module_store)
            proxy.store = BrokenStore()
            with proxy:
                with httpx.Client(base_url=proxy.url, timeout=5) as client:
                    response = client.get("/example.test/m/@v/v1.0.0.info")
                assert response.status_code == 500
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '*raise OSError("disk gone")*',
            "*ServerError: a handler failed: OSError('disk gone')",
        ]
    )


def test_the_leak_check_names_a_socket_left_open(pytester) -> None:
    # In a subprocess: the socket the inner test keeps must not stay open in this one.
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        import socket

        KEPT = []

        def test_leaves_a_socket_open():
            KEPT.append(socket.socket())

        def test_closes_its_socket():
            with socket.socket():
                pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*test_leaves_a_socket_open leaked: socket fd * → socket:[[]*[]] still open*"]
    )


@pytest.mark.parametrize("server_class", ["HandlerServer", "Origin"])
def test_a_server_used_as_a_context_manager_raises_its_handler_error_on_exit(
    server_class,
) -> None:
    def broken(request):
        raise KeyError("handler bug")

    if server_class == "HandlerServer":
        server, host = HandlerServer(broken), "127.0.0.1"
    else:
        server, host = Origin(), "a.test"
        server.route(host, broken)
    raises = pytest.raises(ServerError, match=r"failed: KeyError\('handler bug'\)")
    with raises as raised, server, httpx.Client(base_url=server.url, timeout=5) as client:
        assert client.get("/", headers={"Host": host}).status_code == 500
    assert isinstance(raised.value.__cause__, KeyError)


class _BrokenEngine(faultproxy.ResponseEngine):
    """A fault engine that breaks: any bug in a proxy's thread."""

    def feed(self, data):
        raise RuntimeError("engine bug")


def test_a_fault_proxy_used_as_a_context_manager_raises_its_error_on_exit(monkeypatch) -> None:
    monkeypatch.setattr(faults, "ResponseEngine", _BrokenEngine)
    raises = pytest.raises(ServerError, match=r"FaultProxy failed: RuntimeError\('engine bug'\)")
    upstream = HandlerServer(lambda request: Response(b"hello"))
    with upstream, raises, FaultProxy(upstream.url) as proxy:
        _get_a_cut_response(proxy.url)


def _get_a_cut_response(url: str) -> None:
    with httpx.Client(timeout=5) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(url)


def test_every_error_of_a_test_is_reported_and_none_follows_into_the_next(pytester) -> None:
    # A handler error (Origin) and a body error (Router) in one test: one teardown error
    # names both, each traceback is shown, and the next test starts clean.
    result = _run(
        pytester,
        """
        import contextlib

        import httpx
        from werkzeug import Response

        def broken(request):
            raise RuntimeError("handler bug")

        def body():
            yield b"first block"
            raise KeyError("body bug")

        def streams_a_broken_body(request):
            return Response(body(), content_type="application/octet-stream")

        def test_two_bugs(gomodnet):
            gomodnet.add_handler("broken.test", broken)
            gomodnet.add_handler("stream.test", streams_a_broken_body)
            with gomodnet.client() as client, contextlib.suppress(httpx.HTTPError):
                assert client.get("https://broken.test/x").status_code == 500
                client.get("https://stream.test/x")

        def test_next(gomodnet):
            gomodnet.add_handler("fine.test", lambda request: Response(b"fine"))
            with gomodnet.client() as client:
                assert client.get("https://fine.test/x").content == b"fine"
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_two_bugs*",
            '*raise RuntimeError("handler bug")*',
            '*raise KeyError("body bug")*',
            "*The above exception was the direct cause of the following exception*",
            "E *ServerError: 2 errors in server threads:",
            "E *a virtual host's handler failed: RuntimeError('handler bug')",
            "E *Router failed: KeyError('body bug')",
        ]
    )
    assert "ERROR at teardown of test_next" not in result.stdout.str()


def test_server_errors_and_unfired_faults_are_reported_together(pytester) -> None:
    result = _run(
        pytester,
        """
        from pytest_gomodnet.faults import Truncate

        def broken(request):
            raise RuntimeError("handler bug")

        def test_bug_and_unfired_fault(gomodnet):
            gomodnet.add_handler("broken.test", broken)
            gomodnet.fault("broken.test", Truncate(5), path="*.zip")
            with gomodnet.client() as client:
                assert client.get("https://broken.test/x").status_code == 500
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E *ServerError: a virtual host's handler failed: RuntimeError('handler bug')",
            "E *armed faults never fired, *",
            "E *fault('broken.test', Truncate(at=5, close='fin', where=None), path='*.zip'): "
            "never fired: Truncate(at=5, close='fin', where=None)",
        ]
    )


def test_the_fault_proxy_fixture_reports_the_errors_of_every_proxy(pytester) -> None:
    result = _run(
        pytester,
        """
        import httpx
        import pytest
        from werkzeug import Response
        from pytest_gomodnet import faultproxy, faults
        from pytest_gomodnet.origin import HandlerServer

        class BrokenEngine(faultproxy.ResponseEngine):
            def feed(self, data):
                raise RuntimeError(f"engine bug {data!r}")

        def test_two_broken_proxies(fault_proxy, monkeypatch):
            monkeypatch.setattr(faults, "ResponseEngine", BrokenEngine)
            with HandlerServer(lambda request: Response(request.path.encode())) as upstream:
                for path in ("/a", "/b"):
                    proxy = fault_proxy(upstream.url)
                    with httpx.Client(base_url=proxy.url, timeout=5) as client:
                        with pytest.raises(httpx.RemoteProtocolError):
                            client.get(path)
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E *ServerError: 2 errors in server threads:",
            "E *FaultProxy failed: RuntimeError(\"engine bug b'/a'\")",
            "E *FaultProxy failed: RuntimeError(\"engine bug b'/b'\")",
        ]
    )


def test_router_reset_forgets_its_errors(monkeypatch) -> None:
    monkeypatch.setattr(faults, "ResponseEngine", _BrokenEngine)
    upstream = HandlerServer(lambda request: Response(b"hello"))
    with upstream, FaultProxy(upstream.url) as proxy:
        _get_a_cut_response(proxy.url)
        proxy.reset()  # what happens between two tests
        proxy.check()  # nothing from before the reset


def test_network_close_checks_the_router_even_when_the_origin_failed(tmp_path) -> None:
    def broken(request):
        raise RuntimeError("handler bug")

    def body():
        yield b"first block"
        raise KeyError("body bug")

    raises = pytest.raises(ServerError, match=r"^2 errors in server threads:\n")
    with raises as raised, Network.standalone(directory=tmp_path) as net:
        net.add_handler("broken.test", broken)
        net.add_handler("stream.test", lambda request: Response(body()))
        with net.client() as client, contextlib.suppress(httpx.HTTPError):
            client.get("https://broken.test/x")
            client.get("https://stream.test/x")
    assert str(raised.value).splitlines()[1:] == [
        "  a virtual host's handler failed: RuntimeError('handler bug')",
        "  Router failed: KeyError('body bug')",
    ]
    group = raised.value.__cause__
    assert isinstance(group, ExceptionGroup)
    assert [repr(e) for e in group.exceptions] == [
        "RuntimeError('handler bug')",
        "KeyError('body bug')",
    ]
