"""Interleaved rounds, best kept: how each row copes with a busy machine.

Other processes steal time in bursts. Measuring the plugin's path and its
baseline in alternating rounds exposes both to the same bursts, and the best
round of each is the least disturbed estimate of what it can do.
"""

from __future__ import annotations

from collections.abc import Callable


def best_rates(rounds: int, measures: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Call every measure (a rate: higher is better) once a round; each one's highest."""
    results: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            results[name].append(measure())
    return {name: max(values) for name, values in results.items()}


def best_times(rounds: int, measures: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Call every measure (a duration: lower is better) once a round; each one's lowest."""
    rates = best_rates(rounds, {name: _negated(m) for name, m in measures.items()})
    return {name: -rate for name, rate in rates.items()}


def _negated(measure: Callable[[], float]) -> Callable[[], float]:
    return lambda: -measure()
