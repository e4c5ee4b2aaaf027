"""Explain why something could not be fetched from the Hub, telling offline apart from "does not exist"."""

from __future__ import annotations

import os

_OFFLINE_MARKERS = (
    "offline",
    "connection",
    "connect",
    "resolve",
    "network",
    "timed out",
    "timeout",
    "couldn't reach",
    "max retries",
    "name or service not known",
    "temporary failure",
)


def hub_is_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _looks_offline(exc: BaseException) -> bool:
    chain = []
    while exc is not None and len(chain) < 8:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    text = " ".join(f"{type(e).__name__} {e}" for e in chain).lower()
    return any(marker in text for marker in _OFFLINE_MARKERS) or "LocalEntryNotFound" in text


def explain_hub_failure(kind: str, name: str, exc: BaseException, local_alternative: str) -> str:
    """One line: what failed, whether being offline is the cause, and what to pass instead."""
    if hub_is_offline() or _looks_offline(exc):
        cause = "HF_HUB_OFFLINE=1 is set" if hub_is_offline() else "the Hugging Face Hub could not be reached"
        return (
            f"could not load {kind} {name!r}: {cause} (offline) and it is not in the local cache; "
            f"connect to the network or pass {local_alternative}"
        )
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"could not load {kind} {name!r}: it is neither a local path nor a loadable Hub id ({first_line[:160]}); "
        f"check the name or pass {local_alternative}"
    )
