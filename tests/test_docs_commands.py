"""Every ``$ pytest`` command of docs/conformance.md, run as it is written, anywhere.

Each runs from an empty temporary directory, with the plugin installed from its
wheel into a fresh venv that is not activated (only the first word, ``pytest``,
is that venv's; its bin directory is not on PATH). The matrix the docs show
under each command must be the matrix the command prints.

After a change to the cases, ``python tests/test_docs_commands.py`` runs the
commands the same way and writes their output into the docs.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from _helpers import fresh_venv

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs" / "conformance.md"
#: Seconds one documented command may run (the five real mirrors take about 160 s, two
#: cases of which wait out a negative cache).
COMMAND_TIMEOUT = 600
_MATRIX_SEP = re.compile(r"^=+ gomodnet conformance matrix =+$")
#: pytest's last line: "7 failed, 74 passed, 1 xfailed in 10.37s".
_ENDING = re.compile(r"\d+ (passed|failed|skipped|xfailed|errors?)\b.* in [\d.]+s")


@dataclass(frozen=True)
class DocCommand:
    """A ``$ pytest …`` command in a fenced block of the docs, and the output shown under it."""

    text: str
    output: list[str]
    start: int
    """Index of the block's first output line in the docs' lines."""
    end: int
    """Index of the block's closing fence."""


def doc_commands(lines: list[str]) -> list[DocCommand]:
    commands, index = [], 0
    while index < len(lines):
        if not lines[index].startswith("$ pytest"):
            index += 1
            continue
        words = [lines[index].removeprefix("$ ")]
        while words[-1].endswith("\\"):
            index += 1
            words.append(lines[index])
        start = index + 1
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
        text = "\n".join(words)
        commands.append(DocCommand(text, lines[start:end], start, end))
        index = end
    return commands


def matrix(output: list[str]) -> list[str]:
    """The matrix part of a run's output: its header, a line a case, a line a target."""
    begin = next((i for i, line in enumerate(output) if line.startswith("case ")), None)
    if begin is None:
        return []
    end = next(i for i in range(begin, len(output)) if output[i].startswith("pytest-gomodnet "))
    return [line.rstrip() for line in output[begin:end]]


def settled(lines: list[str]) -> list[str]:
    """The matrix without what a real mirror was seen to answer both ways (test_real_mirrors'
    EITHER): that case's row, and the count line of each mirror concerned."""
    from test_real_mirrors import EITHER

    cases = {case for case, _ in EITHER}
    mirrors = {f"{mirror}:" for _, mirror in EITHER}
    return [
        line
        for line in lines
        if line.split(" ", 1)[0] not in cases and line.split(" ", 1)[0] not in mirrors
    ]


def run_documented(command: DocCommand, venv: Path, directory: Path) -> list[str]:
    """Run the command with bash in ``directory``; its output from the matrix on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    script = f'pytest() {{ "{venv}/bin/pytest" "$@"; }}\n{command.text}\n'
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    lines = result.stdout.splitlines()
    first = next((i for i, line in enumerate(lines) if _MATRIX_SEP.match(line)), None)
    assert first is not None, result.stdout[-4000:] + result.stderr[-4000:]
    summary = next(i for i in range(first, len(lines)) if lines[i].startswith("pytest-gomodnet "))
    ending = [line.strip("= ") for line in lines[summary + 1 :] if _ENDING.search(line)]
    shown = [line.rstrip().replace(str(venv), "<venv>") for line in lines[first : summary + 1]]
    return shown + ending[-1:]


COMMANDS = doc_commands(DOCS.read_text().splitlines())


def test_the_docs_have_their_commands() -> None:
    assert len(COMMANDS) == 4
    assert all(matrix(c.output) for c in COMMANDS)


@pytest.mark.slow
@pytest.mark.timeout(900)  # more than CI's --timeout=300: see the timeout above
def test_every_documented_command_prints_the_documented_matrix(tmp_path: Path) -> None:
    """All in one test: the fresh venv is the expensive part (pytest-xdist would build one
    per worker for separate tests)."""
    from test_real_mirrors import require

    for name in ("nginx", "apache", "squid", "caddy", "varnish"):
        require(name)
    venv = fresh_venv(ROOT, tmp_path, "[go]")
    for index, command in enumerate(COMMANDS):
        empty = tmp_path / f"empty-{index}"
        empty.mkdir()
        output = run_documented(command, venv, empty)
        assert settled(matrix(output)) == settled(matrix(command.output)), command.text


def update_docs() -> None:
    """Run every documented command and write its output into the docs."""
    lines = DOCS.read_text().splitlines()
    with tempfile.TemporaryDirectory(prefix="docs-commands-") as directory:
        venv = fresh_venv(ROOT, Path(directory), "[go]")
        for command in reversed(doc_commands(lines)):
            empty = Path(tempfile.mkdtemp(dir=directory))
            lines[command.start : command.end] = run_documented(command, venv, empty)
    DOCS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    update_docs()
