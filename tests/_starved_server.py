"""A server in a process of its own whose descriptors run out: for test_hardening.py.

``python _starved_server.py router|handler-server``: prints the server's port, lowers
RLIMIT_NOFILE to a few more than it uses, and on ``report`` from stdin prints (as
JSON) every log record of pytest_gomodnet and asyncio.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
from contextlib import AbstractContextManager

from werkzeug import Response

from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.origin import HandlerServer

records: list[str] = []


class _Keep(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        records.append(f"{record.name}: {record.getMessage()}")


for name in ("pytest_gomodnet", "asyncio"):
    logging.getLogger(name).addHandler(_Keep())

server: AbstractContextManager[Router | HandlerServer]
if sys.argv[1] == "router":
    server = Router(name="starved", client_timeout=30.0)
else:
    server = HandlerServer(lambda request: Response("hello"), client_timeout=30.0)
with server as running:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 3, hard))
    print(running.port, flush=True)
    sys.stdin.readline()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    print(json.dumps(records), flush=True)
