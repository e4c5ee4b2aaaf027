"""What "better" means for each metric: lower, higher, or closest to an ideal value (50 for CrowS / SS)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Direction:
    kind: str  # "lower", "higher" or "ideal"
    ideal: float | None = None

    @property
    def label(self) -> str:
        if self.kind == "ideal":
            return f"ideal {self.ideal:g}"
        return f"{self.kind} is better"

    def badness(self, value: float) -> float:
        """A number that grows as the metric gets worse, for ranking regressions."""
        if self.kind == "lower":
            return value
        if self.kind == "higher":
            return -value
        return abs(value - float(self.ideal))


def direction(name: str) -> Direction:
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "pct_stereotype" or (name.startswith("stereoset.") and leaf == "ss"):
        return Direction("ideal", 50.0)
    if leaf in ("lms", "icat", "distinct_2", "mean_length"):
        return Direction("higher")
    return Direction("lower")  # toxicity, gaps, distances, likelihood bias, perplexity, empty rate


def block_of(name: str) -> str:
    return name.split(".", 1)[0]
