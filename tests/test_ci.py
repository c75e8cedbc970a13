""".ci/run, CI's entry point: it fails when a test fails and when no test runs at all.

The script is run as it is, on a copy of a project whose tests are chosen here. Its
installs are stood in for: ``python3 -m venv`` makes a ``.venv`` whose ``python``
skips ``pip install`` and runs everything else with this interpreter (where the
plugin, pytest-timeout and xdist are installed), and whose ruff and mypy only
record that they ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

FAKE_PYTHON3 = """#!/bin/sh
# python3 -m venv .venv: a venv of shims.
[ "$1 $2 $3" = "-m venv .venv" ] || exit 99
mkdir -p .venv/bin
cat > .venv/bin/python <<'SHIM'
#!/bin/sh
if [ "$1 $2" = "-m pip" ]; then echo pip >> steps.log; exit 0; fi
echo "$2" >> steps.log
exec {python} "$@"
SHIM
for tool in ruff mypy; do
  printf '#!/bin/sh\\necho %s >> steps.log\\n' "$tool" > .venv/bin/$tool
done
chmod +x .venv/bin/*
"""

PROJECTS = {
    "a passing test": ("def test_passes():\n    assert 1 + 1 == 2\n", 0),
    "a failing test": ("def test_fails():\n    assert 1 + 1 == 3\n", 1),
    "no test at all": ("def helper():\n    return 2\n", 5),  # pytest's "no tests ran"
}


def run_ci(tmp_path: Path, test_source: str) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", project / ".ci" / "run")
    (project / "tests").mkdir()
    (project / "tests" / "test_project.py").write_text(test_source)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python3").write_text(FAKE_PYTHON3.replace("{python}", sys.executable))
    (fake_bin / "python3").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PATH"] = f"{fake_bin}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["bash", str(project / ".ci" / "run")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", PROJECTS, ids=list(PROJECTS))
def test_ci_run_fails_on_a_failing_test_and_on_no_test(tmp_path: Path, case: str) -> None:
    test_source, status = PROJECTS[case]
    result = run_ci(tmp_path, test_source)
    assert result.returncode == status, result.stdout + result.stderr
    steps = (tmp_path / "project" / "steps.log").read_text().split()
    if status == 0:  # both pytest runs, then every lint step
        assert steps == ["pip", "pip", "pytest", "pytest", "ruff", "ruff", "mypy"]
        assert "1 passed" in result.stdout
    else:  # stopped at the first pytest run: nothing after it may turn the run green
        assert steps == ["pip", "pip", "pytest"]
        assert ("1 failed" if status == 1 else "no tests ran") in result.stdout
