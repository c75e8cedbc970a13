"""How much a certificate chain costs: ms per fresh leaf, per cached chain, per context.

Run: python bench/bench_tls.py [ROUNDS]. Prints numbers; asserts nothing. The
Router builds a server context per virtual host, so these are the costs a
test with many hosts pays.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_gomodnet.tls import ChainSpec, GomodnetCA, KeyType


def per_call_ms(rounds: int, action: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for index in range(rounds):
        action(index)
    return (time.perf_counter() - started) / rounds * 1000


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        ca = GomodnetCA(directory / "ca")
        print(f"session CA + intermediate: {(time.perf_counter() - started) * 1000:7.2f} ms")
        for key_type in KeyType:
            # The first leaf of a key type also makes the key every later leaf shares.
            first = per_call_ms(1, lambda i, k=key_type: ca.chain("first-key.test", key_type=k))
            print(f"first {key_type.name:5} leaf (makes the shared key): {first:7.2f} ms")
            for shape in (ChainSpec.COMPLETE, ChainSpec.SELF_SIGNED):
                fresh = per_call_ms(
                    rounds,
                    lambda i, s=shape, k=key_type: ca.chain(
                        f"host{i}.{s}.{k.name.lower()}.test", shape=s, key_type=k
                    ),
                )
                print(f"fresh {key_type.name:5} {shape.value:13} leaf:  {fresh:7.2f} ms")
        cached = per_call_ms(rounds, lambda i: ca.chain("host0.complete.ecdsa.test"))
        print(f"cached chain (files rewritten):   {cached:7.2f} ms")
        chain = ca.chain("example.test", "127.0.0.1")
        server_ms = per_call_ms(rounds, lambda i: chain.server_context())
        client_ms = per_call_ms(rounds, lambda i: chain.client_context())
        print(f"server_context():                 {server_ms:7.2f} ms")
        print(f"client_context():                 {client_ms:7.2f} ms")
        for shape in ChainSpec:
            first = per_call_ms(1, lambda i, s=shape: ca.chain("first.test", shape=s))
            print(f"first {shape.value:21} (incl. its CAs): {first:7.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
