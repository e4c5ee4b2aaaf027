"""argparse that reports a bad flag in one line naming the command's help, instead of printing the whole usage."""

from __future__ import annotations

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: D102
        command = self.prog.removeprefix("hf-fair-compress ").strip()
        print(f"error: {message}; see 'hf-fair-compress {command} --help'", file=sys.stderr)
        raise SystemExit(2)
