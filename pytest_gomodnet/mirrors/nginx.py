"""nginx proxy_cache as a GOPROXY mirror, for ``pytest --gomodnet``.

nginx cannot reach an upstream through a forward proxy, so it fetches from the
upstream's direct TLS port, checking its chain against ``--ca-bundle`` under
the name ``--upstream-host``::

    pytest --gomodnet --gomodnet-proxy-cmd "{python} -m pytest_gomodnet.mirrors.nginx \
        --port {port} --upstream {upstream_direct} --upstream-host {upstream_host} \
        --ca-bundle {ca_bundle}"

It caches 200 for seven days, 404 and 410 for a minute (nginx.conf.in).
"""

from ._launch import main

if __name__ == "__main__":
    main("nginx")
