"""One exception type for everything the user can fix.

The CLI turns a `FairCompressError` into a single `error: ...` line and a non-zero exit, so every message must
name the problem *and* the fix on one line.
"""

from __future__ import annotations


class FairCompressError(ValueError):
    """A problem with the user's input, settings or environment, explained in one line."""


class NonFiniteLossError(FairCompressError):
    """Training produced a NaN or infinite loss; the run stops instead of saving a broken model."""

    def __init__(self, step: int, value: float, last_checkpoint: str | None = None):
        self.step = step
        self.value = value
        self.last_checkpoint = last_checkpoint
        where = (
            f"the last good checkpoint is {last_checkpoint} (resume with --resume_from_checkpoint {last_checkpoint})"
            if last_checkpoint
            else "no checkpoint was saved before it"
        )
        super().__init__(
            f"loss became {value} at optimizer step {step}; training stopped and nothing was exported; {where}; "
            "lower --learning_rate or the sparsity and try again"
        )
