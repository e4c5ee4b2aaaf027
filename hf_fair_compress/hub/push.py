"""Push a compressed model folder (weights, config, tokenizer, recipe, compression.json, audits, report, card)
to the Hub with `create_repo(exist_ok=True)` + `upload_folder`. Nothing local is changed by a failed push; the
error says why and prints the command that retries it."""

from __future__ import annotations

import shlex
from pathlib import Path

from hf_fair_compress.errors import FairCompressError
from hf_fair_compress.modeling.hub_errors import _looks_offline, hub_is_offline

IGNORE = ["checkpoint-*/**", ".*", "**/.*", "*.partial/**"]


def retry_command(
    folder: str | Path, repo_id: str, private: bool, revision: str | None, endpoint: str | None
) -> str:
    parts = ["hf-fair-compress", "push", "--folder", str(folder), "--repo-id", repo_id]
    if private:
        parts.append("--private")
    if revision:
        parts += ["--revision", revision]
    if endpoint:
        parts += ["--endpoint", endpoint]
    return " ".join(shlex.quote(p) for p in parts)


def push_folder(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Returns the commit URL."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FairCompressError(
            f"{str(folder)!r} is not a model folder (no config.json); pass the compress output"
        )
    retry = retry_command(folder, repo_id, private, revision, endpoint)
    if hub_is_offline():
        raise FairCompressError(
            f"HF_HUB_OFFLINE=1 is set, so nothing was pushed (local files untouched); to retry: {retry}"
        )
    if not (folder / "README.md").is_file():
        from .model_card import write_model_card

        write_model_card(folder)
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            revision=revision,
            commit_message=commit_message
            or "Upload compressed model with its fairness audit (hf-fair-compress)",
            ignore_patterns=IGNORE,
        )
    except Exception as exc:
        cause = (
            "the Hub could not be reached" if _looks_offline(exc) else str(exc).strip().splitlines()[0][:200]
        )
        raise FairCompressError(
            f"push to {repo_id!r} failed: {cause}; local files untouched; to retry: {retry}"
        ) from None
    return str(getattr(info, "commit_url", info))
