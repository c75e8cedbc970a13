"""The public façade: exactly the documented names, each resolvable."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest_gomodnet

DOCS = Path(__file__).parent.parent / "docs" / "api.md"


def test_all_equals_the_documented_names() -> None:
    documented = set(re.findall(r"^- `(\w+)`$", DOCS.read_text(), re.MULTILINE))
    assert set(pytest_gomodnet.__all__) - {"__version__"} == documented


def test_every_name_resolves_to_an_object_of_that_name() -> None:
    for name in pytest_gomodnet.__all__:
        value = getattr(pytest_gomodnet, name)
        assert name == "__version__" or value.__name__ == name


def test_unknown_names_are_attribute_errors() -> None:
    assert not hasattr(pytest_gomodnet, "Nope")


def test_importing_the_package_loads_no_server_code() -> None:
    code = (
        "import sys, pytest_gomodnet\n"
        "heavy = ('werkzeug', 'trustme', 'httpx')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
