"""The careful example mirror, kept runnable from here: it ships in the package.

    python -m pytest_gomodnet.mirrors.careful_mirror --upstream URL --port PORT

is the same program, from any directory.
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("pytest_gomodnet.mirrors.careful_mirror", run_name="__main__", alter_sys=True)
