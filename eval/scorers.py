"""Text scorers for toxicity (Detoxify checkpoints, any HF sequence classifier), batched and cached by text hash.

`detoxify:<model_type>` downloads as Detoxify does when online. `detoxify:<path.ckpt>` with a config folder
loads fully offline through Detoxify's own loading code: detoxify 0.5.4 asks the Hub for
`config_class.from_pretrained(model_type)` before it looks at `huggingface_config_path`, so the adapter points
`model_type` at the local folder before handing the checkpoint to `detoxify.detoxify.get_model_and_tokenizer`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch

from hf_fair_compress.errors import FairCompressError

DETOXIFY_TYPES = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class CachedScorer:
    """Scores each distinct text once; subclasses implement `_score_batch`."""

    label: str = "toxicity"

    def __init__(self, batch_size: int = 32):
        self.batch_size = batch_size
        self._cache: dict[str, float] = {}

    def score(self, texts: Sequence[str]) -> list[float]:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        todo = sorted(
            {k: t for k, t in zip(keys, texts) if k not in self._cache}.items(), key=lambda kv: len(kv[1])
        )
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            for (key, _), value in zip(chunk, self._score_batch([t for _, t in chunk])):
                self._cache[key] = float(value)
        return [self._cache[k] for k in keys]

    def _score_batch(self, texts: list[str]) -> list[float]:
        raise NotImplementedError


class DetoxifyScorer(CachedScorer):
    def __init__(
        self,
        spec: str,
        config_dir: str | None = None,
        label: str = "toxicity",
        device: str = "cpu",
        batch_size: int = 32,
    ):
        super().__init__(batch_size)
        from detoxify import Detoxify

        self.label = label
        if spec in DETOXIFY_TYPES:
            self.detox = Detoxify(spec, device=device)
            self.settings = {"scorer": f"detoxify:{spec}"}
        else:
            self.detox = _load_local_detoxify(spec, config_dir, device)
            self.settings = {"scorer": "detoxify:checkpoint", "checkpoint_sha256": file_sha256(spec)}
        if label not in self.detox.class_names:
            raise FairCompressError(
                f"scorer label {label!r} not produced by this Detoxify model; it has {', '.join(self.detox.class_names)}"
            )

    def _score_batch(self, texts: list[str]) -> list[float]:
        scores = self.detox.predict(texts)[self.label]
        return scores if isinstance(scores, list) else [scores]


def _load_local_detoxify(checkpoint: str, config_dir: str | None, device: str):
    from detoxify.detoxify import Detoxify, get_model_and_tokenizer

    path = Path(checkpoint)
    if not path.is_file():
        raise FairCompressError(
            f"Detoxify checkpoint {checkpoint!r} not found; use detoxify:<original|unbiased|...> or a .ckpt path"
        )
    if config_dir is None or not Path(config_dir).is_dir():
        raise FairCompressError(
            "a local Detoxify checkpoint needs --toxicity-scorer-config <folder with the HF config and tokenizer>"
        )
    loaded = torch.load(path, map_location=device, weights_only=False)  # Detoxify's format is a pickle
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise FairCompressError(
            f"{checkpoint} is not a Detoxify checkpoint ({{'config': ..., 'state_dict': ...}})"
        )
    try:
        args = dict(loaded["config"]["arch"]["args"])
        classes = list(loaded["config"]["dataset"]["args"]["classes"])
    except (KeyError, TypeError):
        raise FairCompressError(f"{checkpoint}: config lacks arch.args or dataset.args.classes") from None
    args["model_type"] = str(config_dir)  # the Hub lookup detoxify makes first now finds the local folder
    model, tokenizer = get_model_and_tokenizer(
        **args, state_dict=loaded["state_dict"], huggingface_config_path=str(config_dir)
    )
    rename = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
    detox = Detoxify.__new__(Detoxify)  # the instance detoxify builds, minus its download step
    detox.model, detox.tokenizer = model.to(device), tokenizer
    detox.class_names = [rename.get(c, c) for c in classes]
    detox.device = device
    return detox


class HFClassifierScorer(CachedScorer):
    """Any AutoModelForSequenceClassification; multi-label models use sigmoid, single-label softmax."""

    def __init__(self, name_or_path: str, label: str = "toxic", device: str = "cpu", batch_size: int = 32):
        super().__init__(batch_size)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from hf_fair_compress.modeling.hub_errors import explain_hub_failure

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            self.model = AutoModelForSequenceClassification.from_pretrained(name_or_path).to(device).eval()
        except Exception as exc:
            raise FairCompressError(
                explain_hub_failure("classifier", name_or_path, exc, "a local folder")
            ) from None
        labels = {str(v).lower(): int(k) for k, v in self.model.config.id2label.items()}
        if label.lower() not in labels:
            raise FairCompressError(f"scorer label {label!r} not in the classifier's labels {sorted(labels)}")
        self.index = labels[label.lower()]
        self.multi_label = self.model.config.problem_type == "multi_label_classification"
        self.label, self.device = label, device
        self.settings = {"scorer": f"hf:{name_or_path}", "label": label}

    @torch.no_grad()
    def _score_batch(self, texts: list[str]) -> list[float]:
        inputs = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True).to(self.device)
        logits = self.model(**inputs).logits.float()
        probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, -1)
        return probs[:, self.index].tolist()


class VaderScorer(CachedScorer):
    """VADER compound sentiment in [-1, 1] (Hutto & Gilbert 2014); its lexicon ships with the package."""

    label = "sentiment"

    def __init__(self, batch_size: int = 256):
        super().__init__(batch_size)
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()
        self.settings = {"scorer": "vader"}

    def _score_batch(self, texts: list[str]) -> list[float]:
        return [self.analyzer.polarity_scores(t)["compound"] for t in texts]


def load_sentiment_scorer(spec: str = "vader", label: str | None = None, device: str = "cpu"):
    """`vader` (offline) or `hf:<sentiment classifier>` reading `label` (default 'positive')."""
    if spec == "vader":
        return VaderScorer()
    kind, _, target = spec.partition(":")
    if kind == "hf" and target:
        return HFClassifierScorer(target, label or "positive", device)
    raise FairCompressError(f"unknown sentiment scorer {spec!r}; use vader or hf:<id|folder>")


def load_scorer(spec: str, config_dir: str | None = None, label: str | None = None, device: str = "cpu"):
    """`detoxify:<type or .ckpt>` or `hf:<hub id or folder>`."""
    kind, _, target = spec.partition(":")
    if kind == "detoxify" and target:
        return DetoxifyScorer(target, config_dir, label or "toxicity", device)
    if kind == "hf" and target:
        return HFClassifierScorer(target, label or "toxic", device)
    raise FairCompressError(
        f"unknown toxicity scorer {spec!r}; use detoxify:<type|path.ckpt> or hf:<id|folder>"
    )
