"""Mirrors to point ``pytest --gomodnet`` at: two small ones in Python, five real servers.

``naive_mirror`` and ``careful_mirror`` are GOPROXY mirrors written to be tested
(the naive one keeps what a cut upstream gave it). ``nginx``, ``apache``,
``squid``, ``caddy`` and ``varnish`` run those servers, if installed, as caching
mirrors in front of the suite's upstream. Every one runs as
``python -m pytest_gomodnet.mirrors.NAME``; docs/conformance.md has each one's
command line.
"""
