"""The checksum database on the private network: the real go command with GOSUMDB on.

``sum.test`` logs every module version ``proxy.test`` serves; ``gomodnet.go_env()``
points go at it. The first test is the snippet of docs/sumdb.md; the others show a
proxy whose zip the database does not vouch for, and a database that lies about a tile.
"""

from pytest_gomodnet.faults import Truncate

MODULE, VERSION = "example.test/m", "v1.0.0"


def test_go_checks_the_download_against_the_database(go, gomodnet, module_store, tmp_path):
    module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    sumdb = gomodnet.add_sumdb("sum.test")

    env = gomodnet.go_env()  # GOSUMDB="sum.test+<hash>+<key> https://sum.test"
    go.run("mod", "download", "example.test/m@v1.0.0", home=tmp_path, env=env).check()
    assert sumdb.requests == [
        ("GET", "/lookup/example.test/m@v1.0.0", 200),
        ("GET", "/tile/8/0/000.p/1", 200),
    ]


def test_a_zip_the_database_does_not_vouch_for_is_a_security_error(
    go, gomodnet, module_store, tmp_path
):
    stored = module_store.add(MODULE, VERSION, files={"m.go": b"package m\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    sumdb = gomodnet.add_sumdb("sum.test")
    # The database logged another zip for this version before the proxy's was asked for.
    sumdb.add(MODULE, VERSION, h1="h1:" + "A" * 43 + "=", go_mod_h1=stored.go_mod_h1)
    result = go.run("mod", "download", f"{MODULE}@{VERSION}", home=tmp_path, env=gomodnet.go_env())
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"go: {MODULE}@{VERSION}: verifying module: checksum mismatch\n"
        f"\tdownloaded: {stored.h1}\n"
        f"\tsum.test: h1:{'A' * 43}=\n\nSECURITY ERROR\n"
    )


def test_a_cut_tile_is_an_error_not_a_proof(go, gomodnet, module_store, tmp_path):
    module_store.add(MODULE, VERSION, files={"m.go": b"package m\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.add_sumdb("sum.test")
    gomodnet.fault("sum.test", Truncate(10, where="body"), path="/tile/*")
    result = go.run("mod", "download", f"{MODULE}@{VERSION}", home=tmp_path, env=gomodnet.go_env())
    assert result.stderr == (
        f"go: {MODULE}@{VERSION}: verifying go.mod: {MODULE}@{VERSION}/go.mod: "
        "reading https://sum.test/tile/8/0/000.p/1: unexpected EOF\n"
    )
