"""Where to cut a response: truncation points that lean on its boundaries."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet.boundaries import response_boundaries

#: A spare choice after each draw (see :func:`_leaning_offsets`).
_SPARE_CHOICES = 0xFFFF
_SPARE = st.integers(0, _SPARE_CHOICES)


def truncation_points(response: bytes, *, include_end: bool = False) -> st.SearchStrategy[int]:
    """Offsets at which to cut ``response``: ``Truncate(at=offset)``.

    Half the draws land on a :func:`response_boundaries` offset (the start,
    inside the status line, around ``\\r\\n\\r\\n``, chunk-size lines,
    Content-Length, a zip's central directory and end record, one byte before
    the end); the other half anywhere in ``0 .. len(response) - 1`` (``len``
    included with ``include_end``). Failing examples shrink to the smallest
    failing cut, whether or not it is a boundary.
    """
    if not isinstance(include_end, bool):
        raise InvalidArgument(f"include_end={include_end!r} must be True or False")
    boundaries = tuple(b.offset for b in response_boundaries(response, include_end=include_end))
    last = len(response) if include_end else len(response) - 1
    return _leaning_offsets(st.sampled_from(boundaries), last)


@st.composite
def _leaning_offsets(draw: st.DrawFn, boundaries: st.SearchStrategy[int], last: int) -> int:
    # Always draw every choice, in this order, so that flipping ``lean`` while
    # shrinking keeps the others aligned (see the module docstring).
    lean = draw(st.booleans())
    boundary = draw(boundaries)
    anywhere = draw(st.integers(boundary if lean else 0, last))
    # Hypothesis never replays a choice sequence it has tried. A boundary near
    # the end leaves ``anywhere`` few values, so without this spare choice it
    # would be drawn once or twice in a thousand instead of as often as the rest.
    draw(_SPARE)
    return boundary if lean else anywhere
