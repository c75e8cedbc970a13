"""``python -m pytest_gomodnet replay FILE``: see :mod:`pytest_gomodnet.replay`."""

from __future__ import annotations

import sys

from .replay import main

if __name__ == "__main__":
    sys.exit(main())
