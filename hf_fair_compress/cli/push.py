"""`hf-fair-compress push`: upload a compressed model folder with its audit, report and model card."""

from __future__ import annotations

import argparse

from .parsing import OneLineParser


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="hf-fair-compress push", description=__doc__)
    p.add_argument("--folder", required=True, help="output folder of `compress`")
    p.add_argument("--repo-id", required=True, help="namespace/name on the Hub")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--revision", help="branch to push to (created when missing)")
    p.add_argument("--endpoint", help="Hub endpoint (default: HF_ENDPOINT or huggingface.co)")
    p.add_argument("--commit-message", help="commit message")
    return p


def run(argv: list[str]) -> int:
    from ..hub.push import push_folder

    args = build_parser().parse_args(argv)
    url = push_folder(
        args.folder, args.repo_id, args.private, args.revision, args.endpoint, None, args.commit_message
    )
    print(f"pushed {args.folder} -> {url}")
    return 0
