"""Print the audit flags of the built reference scorer (`make demo` uses them); prints nothing when none is built.

python benchmarks/reference/locate.py scorer    # --audit_toxicity_scorer detoxify:<ckpt> --audit_toxicity_scorer_config <dir>
python benchmarks/reference/locate.py lm        # the reference LM folder
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.reference import build_lm, build_scorer, common  # noqa: E402


def newest(kind: str, settings: dict) -> Path | None:
    builds = [
        p.parent
        for p in common.cache_root().glob(f"{kind}-*/build.json")
        if json.loads(p.read_text()).get("settings") == settings
    ]
    return max(builds, key=lambda p: p.stat().st_mtime, default=None)


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "scorer"
    if kind == "scorer":
        found = newest("scorer", build_scorer.SETTINGS)
        if found:
            print(
                f"--audit_toxicity_scorer detoxify:{found / 'scorer.ckpt'} --audit_toxicity_scorer_config {found / 'config'}"
            )
    elif kind == "lm":
        found = newest("lm", build_lm.SETTINGS)
        if found:
            print(found)
    else:
        raise SystemExit("usage: locate.py scorer|lm")


if __name__ == "__main__":
    main()
