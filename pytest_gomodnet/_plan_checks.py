"""The argument checks fault plans share: offsets, positive numbers, HTTP/2 error codes.

Each raises FaultPlanError naming the plan, the argument and what to give instead.
"""

from __future__ import annotations

import math
from typing import Literal

from h2.errors import ErrorCodes

from .errors import FaultPlanError

__all__ = ["CloseHow", "Where", "error_code"]

Where = Literal["headers", "body", "body-end"]
CloseHow = Literal["fin", "rst", "tls-no-close-notify"]

_WHERE = ("headers", "body", "body-end")
_CLOSES = ("fin", "rst", "tls-no-close-notify")


def _check_offset(plan: object, name: str, value: object, where: str | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultPlanError(f"{type(plan).__name__}: {name}={value!r} must be an int")
    if where == "body-end":
        if value > 0:
            raise FaultPlanError(
                f"{type(plan).__name__}: {name}={value!r} with where='body-end' must be <= 0 "
                "(-1 keeps all but the last byte)"
            )
    elif value < 0:
        raise FaultPlanError(f"{type(plan).__name__}: {name}={value!r} must be >= 0")
    if where is not None and where not in _WHERE:
        raise FaultPlanError(
            f"{type(plan).__name__}: where={where!r} is not one of {', '.join(map(repr, _WHERE))}"
        )


def _check_positive(plan: object, name: str, value: object, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        kind = "a positive int" if integer else "a positive number"
        raise FaultPlanError(f"{type(plan).__name__}: {name}={value!r} must be {kind}")
    if not math.isfinite(value):  # an endless pause: every wait must have a deadline
        raise FaultPlanError(f"{type(plan).__name__}: {name}={value!r} must be finite")


def _check_code(plan: object, code: object) -> None:
    if isinstance(code, str) and code in ErrorCodes.__members__:
        return
    if isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 2**32:
        return
    raise FaultPlanError(
        f"{type(plan).__name__}: code={code!r} is not an HTTP/2 error code: a name such as "
        "'INTERNAL_ERROR' (RFC 9113, section 7) or an int from 0 to 2**32-1"
    )


def error_code(code: str | int) -> int:
    """The number of an HTTP/2 error code given by name or number."""
    return int(ErrorCodes[code]) if isinstance(code, str) else code
