"""`hf-fair-compress <command>`: dispatch, and one place that turns user errors into one line and exit 2."""

from __future__ import annotations

import sys

from ..errors import FairCompressError

COMMANDS = {
    "compress": ("hf_fair_compress.cli.compress", "prune and/or distil a causal LM with a recipe"),
    "audit": ("hf_fair_compress.cli.audit", "measure toxicity, bias and quality of a model with a suite"),
    "compare": ("hf_fair_compress.cli.compare", "paired before/after report of audits, with a fairness gate"),
    "push": ("hf_fair_compress.cli.push", "upload a compressed model with its audit and card to the Hub"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = ["usage: hf-fair-compress <command> [options]", "", "commands:"]
        lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
        print("\n".join(lines))
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from .. import __version__

        print(__version__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    import importlib

    module = importlib.import_module(COMMANDS[command][0])
    try:
        return int(module.run(rest) or 0)
    except FairCompressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; checkpoints written so far are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
