"""Varnish as a GOPROXY mirror, for ``pytest --gomodnet``.

Open-source Varnish speaks no TLS to its backends, so it fetches from the
upstream's plain-HTTP port (and gets no TLS verdicts)::

    pytest --gomodnet --gomodnet-proxy-cmd "{python} -m pytest_gomodnet.mirrors.varnish \
        --port {port} --upstream {upstream_http}"

It caches with Varnish's built-in rules (two minutes by default; varnish.vcl.in).
"""

from ._launch import main

if __name__ == "__main__":
    main("varnish")
