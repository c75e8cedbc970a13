"""Two wrong proxies of a checksum database, to show the sumdb conformance cases bite.

``claims``: says it proxies (``supported`` is 200) and serves nothing else of the database.
``passes-cut-on``: relays ``/sumdb/…`` from the upstream, and when the upstream's body
ends early, answers 200 with what arrived.

Both relay the module paths whole (what the readiness probe and the cases' positive
control ask for), so only their database is wrong.

    python wrong_db_proxy.py KIND UPSTREAM PORT CA_BUNDLE ROUTER
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def main() -> None:
    kind, upstream, port, ca_bundle, router = sys.argv[1:6]
    client = httpx.Client(proxy=router, verify=ca_bundle, timeout=10.0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/supported"):
                self.answer(200, b"")
            elif kind == "claims" and self.path.startswith("/sumdb/"):
                self.answer(404, b"not found\n")
            elif self.path.startswith("/sumdb/"):
                self.answer(200, self.relay())
            else:
                response = client.get(upstream + self.path)
                self.answer(response.status_code, response.content)

        def relay(self) -> bytes:
            got = bytearray()
            try:
                with client.stream("GET", upstream + self.path) as response:
                    for block in response.iter_bytes():
                        got += block
            except httpx.HTTPError:
                pass  # the degenerate part: what arrived is served as whole
            return bytes(got)

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
