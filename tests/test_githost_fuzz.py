"""Hypothesis cuts git's exchange anywhere; go must never keep a wrong module, nor a
poisoned VCS cache.

Each example cuts one answer of git.test (the ref advertisement, or the n-th
git-upload-pack answer: ref listings and packs) at a body offset hypothesis
picks. go may fail; if it succeeds, the zip must hash as the ModuleStore's.
Then the network is clean again and go runs once more with the same caches:
it must succeed with the right hash, whatever the cut left in GOMODCACHE/cache/vcs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from _git import MODULE, download, module_cache, requires_git, serve_tool, tool_files
from pytest_gomodnet.faults import Truncate
from pytest_gomodnet.goproxy import ModuleStore

pytestmark = requires_git

REFS, PACK = "/tool.git/info/refs", "/tool.git/git-upload-pack"
# go sends at most five git-upload-pack requests for one version (two ref listings,
# a shallow fetch; a ref listing and a full fetch after a failed one).
ANSWERS = st.sampled_from([(REFS, 0)] + [(PACK, n) for n in range(5)])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answer=ANSWERS, at=st.integers(0, 400))
def test_no_cut_leaves_a_wrong_module_or_a_poisoned_cache(
    go, gomodnet, module_store: ModuleStore, answer: tuple[str, int], at: int
) -> None:
    # Function-scoped fixtures serve every example: the first one sets the network up.
    if not gomodnet.hosts:
        serve_tool(gomodnet)
    expected = module_store.get(MODULE, "v1.1.0") or module_store.add(
        MODULE, "v1.1.0", files=tool_files("v1.1.0")
    )
    path, earlier = answer
    cut = Truncate(at, where="body")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        gomodnet.fault("git.test", *[None] * earlier, cut, path=path)
        seen = len(gomodnet.log)
        first = download(go, home, gomodnet, f"{MODULE}@v1.1.0")
        story = f"{cut!r} on answer {earlier} of {path}: {first.get('Error')}"
        asked = [x for c in gomodnet.log[seen:] for x in c.exchanges if x.path.startswith(path)]
        # Evidence: the cut reached go, unless go never asked that many times.
        fired = any(x.fault == repr(cut) for x in asked)
        assert fired or len(asked) <= earlier, f"{story}; asked {len(asked)} times, never cut"
        event("go failed" if "Error" in first else "go succeeded")
        if "Error" in first:
            assert not [f for f in module_cache(home) if f.endswith(".zip")], story
        else:
            assert first["Sum"] == expected.h1, story
        gomodnet.fault("git.test", path=path)  # clean from now on
        again = download(go, home, gomodnet, f"{MODULE}@v1.1.0")
        assert again.get("Sum") == expected.h1, f"after {story}, a clean run: {again}"
