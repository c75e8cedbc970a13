"""Apache mod_proxy + mod_cache_disk as a GOPROXY mirror, for ``pytest --gomodnet``.

Apache reaches an https upstream through a forward proxy (``ProxyRemote``, with
CONNECT), so it uses the Router like any client::

    pytest --gomodnet --gomodnet-proxy-cmd "{python} -m pytest_gomodnet.mirrors.apache \
        --port {port} --upstream {upstream} --router {router} --ca-bundle {ca_bundle}"

It caches what mod_cache allows for up to seven days (apache2.conf.in).
"""

from ._launch import main

if __name__ == "__main__":
    main("apache")
