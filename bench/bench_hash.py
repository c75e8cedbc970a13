"""h1 hashing of a module zip vs plain hashlib.sha256 over the same bytes."""

from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile

from pytest_gomodnet.modules import zip_h1

from . import __main__ as table


def run(quick: bool) -> list[table.Row]:
    size = (4 if quick else 64) << 20
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(8):
            archive.writestr(f"example.test/m@v1.0.0/f{i}.bin", os.urandom(size // 8))
    data = buffer.getvalue()
    started = time.perf_counter()
    zip_h1(data)
    h1_rate = len(data) / (time.perf_counter() - started) / 1e6
    started = time.perf_counter()
    hashlib.sha256(data).digest()
    sha_rate = len(data) / (time.perf_counter() - started) / 1e6
    return [
        table.Row("h1 of a zip, MB/s (vs hashlib.sha256)", h1_rate, sha_rate, "MB/s", ">= 0.8x",
                  h1_rate / sha_rate >= 0.8),
    ]  # fmt: skip
