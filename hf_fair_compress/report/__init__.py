"""Before/after comparison of audits: paired statistics, gate, and report files (JSON, Markdown, HTML)."""

from .compare import compare_audits, load
from .gate import evaluate_gate, load_gate
from .writer import write_report

__all__ = ["compare_audits", "evaluate_gate", "load", "load_gate", "write_report"]
