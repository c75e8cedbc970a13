"""The real go command, sealed: it sees no network unless the test gives it one."""

from pytest_gomodnet import GoToolchain


def test_go_sees_no_network_by_default(go: GoToolchain, tmp_path):
    result = go.run("mod", "download", "-json", "example.test/m@v1.0.0", home=tmp_path)
    assert result.json_objects()[0]["Error"] == (
        "example.test/m@v1.0.0: module lookup disabled by GOPROXY=off"
    )
