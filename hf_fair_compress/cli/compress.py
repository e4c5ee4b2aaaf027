"""`hf-fair-compress compress`: recipe + model + data -> a vanilla compressed model folder.

Training runs in `<output-dir>.partial/` (checkpoints land there, so an interrupted run can resume); only a
finished export is renamed to `<output-dir>`, so a folder under that name is always complete.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser
from transformers.trainer_utils import get_last_checkpoint

from ..errors import FairCompressError
from ..export import atomic_publish, check_output_dir
from ..fair_compress_config import FairCompressConfig
from ..pruning import Pruner
from ..recipe import load_recipe

CLI_DEFAULTS = {"logging_steps": 10, "save_steps": 100, "save_total_limit": 2, "report_to": "none"}


@dataclass
class CompressArguments:
    model: str = field(
        default=None,
        metadata={
            "help": "Model to compress: Hub id (gpt2, distilgpt2), local folder, or a GPT-2 config .json "
            "(random-initialised embedded model, for demos and tests)."
        },
    )
    dataset: str | None = field(
        default=None,
        metadata={
            "help": "Training text: Hub dataset id, or local .txt/.json/.jsonl/.csv file or folder. "
            "Default: the project's small built-in corpus."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Hub dataset configuration name."})
    dataset_split: str = field(default="train", metadata={"help": "Hub dataset split."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N documents (before packing)."}
    )
    audit_suite: str | None = field(
        default=None,
        metadata={
            "help": "Audit the base and the compressed model with this suite (quick, standard, full or a YAML) "
            "and write audit/ and report/ into the output folder."
        },
    )
    gate: str | None = field(
        default=None,
        metadata={
            "help": "Fairness gate YAML (needs --audit_suite): exit 3, model and report kept, when it fails."
        },
    )
    audit_toxicity_scorer: str = field(
        default="detoxify:original", metadata={"help": "Toxicity scorer of the audits (see `audit --help`)."}
    )
    audit_toxicity_scorer_config: str | None = field(
        default=None, metadata={"help": "HF config + tokenizer folder for a local Detoxify checkpoint."}
    )
    audit_data_dir: str | None = field(
        default=None, metadata={"help": "Local benchmark copies for the audits."}
    )


class _OneLineParser(HfArgumentParser):
    """argparse prints its whole usage on a bad flag; one line that names the flag is enough."""

    def error(self, message: str):  # noqa: D102
        print(f"error: {message}; see 'hf-fair-compress compress --help'", file=sys.stderr)
        raise SystemExit(2)


def _pre_parse(argv: list[str]) -> argparse.Namespace:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--recipe")
    pre.add_argument("--output_dir", "--output-dir", dest="output_dir")
    pre.add_argument("--model")
    known, _ = pre.parse_known_args(argv)
    return known


def parse_compress_args(argv: list[str]) -> tuple[CompressArguments, FairCompressConfig]:
    """Parse CLI flags; the recipe's `training:` section supplies defaults that flags override."""
    known = _pre_parse(argv)
    parser = _OneLineParser((CompressArguments, FairCompressConfig), prog="hf-fair-compress compress")
    parser.set_defaults(**CLI_DEFAULTS)
    if known.recipe and not any(a in ("-h", "--help") for a in argv):
        parser.set_defaults(**load_recipe(known.recipe).training)
    if any(a in ("-h", "--help") for a in argv):
        parser.print_help()
        raise SystemExit(0)
    if not known.model:
        raise FairCompressError("--model is required (a Hub id, a local folder, or a GPT-2 config .json)")
    if not known.output_dir:
        raise FairCompressError("--output-dir is required: where the compressed model is written")
    try:
        script_args, config = parser.parse_args_into_dataclasses(args=argv)
    except FairCompressError:
        raise
    except (ValueError, TypeError) as exc:
        raise FairCompressError(f"invalid training argument: {str(exc).splitlines()[0]}") from None
    return script_args, config


def _work_dir(final: Path) -> Path:
    return final.with_name(final.name + ".partial")


def run(argv: list[str]) -> int:
    started = time.perf_counter()
    try:
        script_args, config = parse_compress_args(argv)
    except SystemExit as exc:  # argparse's own errors (unknown flag, bad type) already printed a line
        return int(exc.code or 0)

    final = Path(config.output_dir)
    work = _work_dir(final)
    check_output_dir(final, config.overwrite_output_dir)
    resume = config.resume_from_checkpoint
    if resume is not None and str(resume).lower() in ("true", "1", "yes", "last"):
        resume = get_last_checkpoint(str(work)) if work.is_dir() else None
        if resume is None:
            raise FairCompressError(
                f"no checkpoint to resume from in {work}; run without --resume_from_checkpoint"
            )
    elif resume is not None and not Path(resume).is_dir():
        raise FairCompressError(f"checkpoint {resume!r} does not exist; pass a checkpoint-N folder or 'true'")
    if work.exists() and resume is None and not config.overwrite_output_dir:
        raise FairCompressError(
            f"an unfinished run left {work}; continue it with --resume_from_checkpoint true, "
            "or start over with --overwrite_output_dir"
        )

    # Everything that can fail on bad input happens before anything is written.
    from ..data import builtin_corpus, load_text_dataset, pack_dataset
    from ..modeling import load_model_and_tokenizer

    audit = _AuditPlan.from_args(script_args, config)
    model, tokenizer = load_model_and_tokenizer(script_args.model, seed=config.seed)
    Pruner(config.compression_recipe.pruning).validate(model)
    if script_args.dataset is None:
        from datasets import Dataset

        raw = Dataset.from_dict({"text": builtin_corpus()})
    else:
        raw = load_text_dataset(script_args.dataset, script_args.dataset_config, script_args.dataset_split)
    if script_args.max_train_samples is not None:
        raw = raw.select(range(min(script_args.max_train_samples, len(raw))))
    block_size = min(config.block_size, getattr(model.config, "n_positions", config.block_size))
    train_dataset = pack_dataset(raw, tokenizer, block_size, config.dataset_text_field)

    from ..fair_compress_trainer import FairCompressTrainer

    if work.exists() and resume is None:
        shutil.rmtree(work)  # --overwrite_output_dir was given
    config.output_dir = str(work)
    if audit is not None and config.process_index == 0 and not (work / "audit" / "base").is_dir():
        audit.run(model, tokenizer, script_args.model, work / "audit" / "base")  # the dense starting weights
    trainer = FairCompressTrainer(
        model=model, args=config, train_dataset=train_dataset, processing_class=tokenizer
    )
    trainer.train(resume_from_checkpoint=resume)
    trainer.write_compressed(work, base_model=script_args.model)
    if not trainer.args.should_save:
        return 0
    gate_failed, report = False, None
    if audit is not None:
        compressed_model, compressed_tokenizer = load_model_and_tokenizer(
            str(work)
        )  # exactly what users load
        audit.run(
            compressed_model, compressed_tokenizer, str(final), work / "audit" / "compressed", overwrite=True
        )
        report, gate_failed = audit.compare(work)
    _write_card(work, report)
    atomic_publish(work, final, overwrite=config.overwrite_output_dir)
    _print_summary(final, time.perf_counter() - started)
    if report is not None:
        print(f"fairness report: {final / 'report' / 'report.html'}")
    if gate_failed:
        failed = sorted({c["metric"] for c in report["gate"] if not c["passed"]})
        print(
            f"error: fairness gate failed on {', '.join(failed)}; the model is kept in {final}, "
            f"see {final / 'report' / 'report.md'}",
            file=sys.stderr,
        )
        return 3
    if audit is not None and audit.push_repo:
        import os

        from ..hub.push import push_folder

        private = bool(getattr(config, "hub_private_repo", False))
        url = push_folder(final, audit.push_repo, private=private, endpoint=os.environ.get("HF_ENDPOINT"))
        print(f"pushed {final} -> {url}")
    return 0


@dataclass
class _AuditPlan:
    """Audit, gate and push settings of a compress run, validated before any training."""

    suite: object | None
    gate_path: str | None
    toxicity: object | None
    data_dir: str | None
    push_repo: str | None

    @classmethod
    def from_args(cls, script_args: CompressArguments, config: FairCompressConfig) -> _AuditPlan | None:
        push_repo = None
        if config.push_to_hub:
            push_repo = config.hub_model_id
            if not push_repo:
                raise FairCompressError("--push_to_hub needs --hub_model_id <namespace/name>")
            config.push_to_hub = (
                False  # the export, audit and card are pushed together at the end, not by Trainer
            )
        if script_args.gate and not script_args.audit_suite:
            raise FairCompressError(
                "--gate needs --audit_suite (the gate compares audits of base and result)"
            )
        if not script_args.audit_suite:
            return cls(None, None, None, None, push_repo) if push_repo else None
        from ..eval.scorers import load_scorer
        from ..eval.suite import load_suite
        from ..report.gate import load_gate

        suite = load_suite(script_args.audit_suite)
        if script_args.gate:
            load_gate(script_args.gate)
        toxicity = load_scorer(script_args.audit_toxicity_scorer, script_args.audit_toxicity_scorer_config)
        return cls(suite, script_args.gate, toxicity, script_args.audit_data_dir, push_repo)

    def run(self, model, tokenizer, name: str, dest: Path, overwrite: bool = False) -> None:
        if self.suite is None:
            return
        from ..eval.audit import run_audit, write_audit
        from ..eval.scorers import VaderScorer

        result = run_audit(
            model,
            tokenizer,
            self.suite,
            model_name=name,
            toxicity_scorer_factory=lambda: self.toxicity,
            sentiment_scorer_factory=VaderScorer,
            data_dir=self.data_dir,
        )
        write_audit(result, dest, overwrite=overwrite)

    def compare(self, work: Path):
        if self.suite is None:
            return None, False
        from .compare import compare_and_report

        report, _, failed = compare_and_report(
            work / "audit" / "base",
            [work / "audit" / "compressed"],
            work / "report",
            self.gate_path,
            labels=["compressed"],
            overwrite=True,
        )
        return report, failed


def _write_card(work: Path, report: dict | None) -> None:
    import json

    from ..hub.model_card import write_model_card

    audits = {}
    for side in ("base", "compressed"):
        path = work / "audit" / side / "audit.json"
        audits[side] = json.loads(path.read_text()) if path.is_file() else None
    write_model_card(
        work,
        base_audit=audits["base"],
        compressed_audit=audits["compressed"],
        report=report,
        model_name=Path(work.name.removesuffix(".partial")).name,
    )


def _print_summary(final: Path, seconds: float) -> None:
    import json

    report = json.loads((final / "compression.json").read_text())
    params = report["parameters"]
    minutes, secs = divmod(int(round(seconds)), 60)
    print(
        f"done: sparsity {100 * report['sparsity']['global']:.1f}% "
        f"(requested {100 * report['requested_sparsity']:.1f}%, {report['method']}), "
        f"parameters {params['before'] / 1e6:.2f}M -> {params['after'] / 1e6:.2f}M "
        f"({params['nonzero_after'] / 1e6:.2f}M non-zero), "
        f"{report['size_on_disk_bytes'] / 1e6:.1f} MB on disk, {minutes}m{secs:02d}s -> {final}",
        file=sys.stdout,
    )
