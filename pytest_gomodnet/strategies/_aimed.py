"""Faults aimed at one URL of a network: a framing, and a plan whose offsets land in the
bytes a client receives for it in that framing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet import faults
from pytest_gomodnet.framing import FRAMINGS, Framing, check_framing

from ._faults import DEFAULT_MAX_SECONDS, fault_plans

if TYPE_CHECKING:
    from pytest_gomodnet.faults import FaultPlan


class Aimable(Protocol):
    """What aimed faults need of a network (a :class:`~pytest_gomodnet.network.Network`)."""

    def response_bytes(self, url: str, *, framing: Framing | None = None) -> bytes: ...

    def frame(self, host: str, framing: Framing | None, *, path: str | None = None) -> None: ...

    def fault(
        self, host: str, *plans: FaultPlan | None, path: str | None = None, must_fire: bool | int
    ) -> None: ...


__all__ = ["AimedFault", "aimed_faults"]


@dataclass(frozen=True)
class AimedFault:
    """A fault plan for ``url``, served in ``framing``: what one example arms.

    ``response`` is what a client receives for ``url`` in that framing, with
    no fault: the bytes the plan's offsets count (``response[:plan.at]`` is
    what a Truncate delivers).
    """

    url: str
    framing: Framing
    plan: faults.FaultPlan
    response: bytes = field(repr=False)
    _network: Aimable = field(repr=False, compare=False)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis shows a failing example: as ``repr``, without the bytes."""
        printer.text(repr(self))

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    def arm(self, *, must_fire: bool | int = True) -> None:
        """Frame the URL's responses as drawn and queue the plan for its next request
        (both show in the failure report as the calls they are)."""
        self._network.frame(self.host, self.framing, path=self.path)
        self._network.fault(self.host, self.plan, path=self.path, must_fire=must_fire)


def aimed_faults(
    network: Aimable,
    url: str,
    *,
    kinds: Sequence[type] | None = None,
    slow: bool = False,
    framings: Sequence[Framing] = FRAMINGS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> st.SearchStrategy[AimedFault]:
    """Faults for ``url``: a framing from ``framings`` (shrinking towards the first), then
    a plan as :func:`fault_plans` draws it with ``path=True`` and ``response=`` the
    exact bytes of ``url`` in that framing, fetched once here (so every offset lands
    in the response, leaning on its boundaries)."""
    chosen = _check_framings(framings)
    responses = {f: network.response_bytes(url, framing=f) for f in chosen}
    plans = {
        f: fault_plans(
            kinds=kinds, path=True, slow=slow, response=responses[f], max_seconds=max_seconds
        )
        for f in chosen
    }
    # Built once: a strategy made inside the composite would be made anew for every draw.
    framing_choice = st.sampled_from(chosen)

    @st.composite
    def aimed(draw: st.DrawFn) -> AimedFault:
        # Drawn here, not mapped: hypothesis then shows the AimedFault's own repr.
        framing = draw(framing_choice)
        return AimedFault(url, framing, draw(plans[framing]), responses[framing], network)

    return aimed()


def _check_framings(framings: object) -> list[Framing]:
    if isinstance(framings, str) or not isinstance(framings, Sequence) or not framings:
        raise InvalidArgument(
            f"framings={framings!r} must be a non-empty sequence of {', '.join(FRAMINGS)}"
        )
    return [check_framing(f) for f in framings]
