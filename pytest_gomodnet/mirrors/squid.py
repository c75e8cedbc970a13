"""Squid as an accelerator with a cache, as a GOPROXY mirror, for ``pytest --gomodnet``.

An accelerator's origin is a ``cache_peer``, which Squid connects to directly,
so it fetches from the upstream's direct TLS port::

    pytest --gomodnet --gomodnet-proxy-cmd "{python} -m pytest_gomodnet.mirrors.squid \
        --port {port} --upstream {upstream_direct} --upstream-host {upstream_host} \
        --ca-bundle {ca_bundle}"

It caches in memory, everything for up to seven days (squid.conf.in).
"""

from ._launch import main

if __name__ == "__main__":
    main("squid")
