"""h1 hashing of a module zip vs plain hashlib.sha256 over the same bytes."""

from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile
from collections.abc import Callable

from pytest_gomodnet.modules import zip_h1

from . import _best
from . import _table as table


def run(quick: bool) -> list[table.Row]:
    size = (4 if quick else 64) << 20
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(8):
            archive.writestr(f"example.test/m@v1.0.0/f{i}.bin", os.urandom(size // 8))
    data = buffer.getvalue()
    rate = _best.best_rates(9, {
        "h1": lambda: _rate(zip_h1, data),
        "sha256": lambda: _rate(lambda d: hashlib.sha256(d).digest(), data),
    })  # fmt: skip
    h1_rate, sha_rate = rate["h1"], rate["sha256"]
    return [
        table.Row("h1 of a zip, MB/s (vs hashlib.sha256)", h1_rate, sha_rate, "MB/s", ">= 0.95x",
                  h1_rate / sha_rate >= 0.95),
    ]  # fmt: skip


def _rate(hash_function: Callable[[bytes], object], data: bytes) -> float:
    started = time.perf_counter()
    hash_function(data)
    return len(data) / (time.perf_counter() - started) / 1e6
