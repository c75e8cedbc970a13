"""Caddy reverse_proxy (no cache) as a GOPROXY mirror, for ``pytest --gomodnet``.

Debian's Caddy ignores ``HTTPS_PROXY``, so it fetches from the upstream's direct
TLS port::

    pytest --gomodnet --gomodnet-proxy-cmd "{python} -m pytest_gomodnet.mirrors.caddy \
        --port {port} --upstream {upstream_direct} --upstream-host {upstream_host} \
        --ca-bundle {ca_bundle}"
"""

from ._launch import main

if __name__ == "__main__":
    main("caddy")
