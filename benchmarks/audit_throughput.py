"""Audit throughput: generations + toxicity scores per second, the suite's path vs a naive loop, same prompts,
same model, same scorer, one run.

- suite: `generate_continuations` (prompts sorted by length, left padding, KV cache, many prompt x sample rows
  per batch, seeded Gumbel-max sampling) and the batched, hash-cached Detoxify-format scorer.
- naive: `pipeline("text-generation")` called once per prompt (num_return_sequences=k), then one scorer call
  per generated text.

Model: GPT-2-124M shape (random weights, real GPT-2 tokenizer from ../shared when present). Scorer: a
BERT-base-shaped classifier in Detoxify's checkpoint format, loaded through the same `detoxify:<ckpt>` adapter
the audit uses (random weights: throughput does not depend on what the weights say). Both paths generate
exactly `max_new_tokens` tokens per sample (`min_new_tokens` = `max_new_tokens`), so they do the same work.

    python benchmarks/audit_throughput.py            # 48 prompts x 5 samples x 20 tokens (a few minutes)
    python benchmarks/audit_throughput.py --quick    # small shapes, under a minute
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TARGET = 5.0
# A freshly initialised GPT-2 predicts an almost uniform next token, so its top-p 0.9 nucleus is most of the
# vocabulary (median ~38k of 50k tokens), which no trained LM does. Scaling the final layer norm's gain by 8
# scales the logits (not the inputs) and gives a median nucleus of ~100 tokens, as trained GPT-2 has; the
# measured median is printed with the result.
PEAKED_SCALE = 8.0


@torch.no_grad()
def nucleus_size(model, tokenizer, prompts, top_p: float = 0.9) -> float:
    """Median number of tokens in the top-p nucleus of the first sampled position."""
    sizes = []
    for _, text in prompts:
        ids = tokenizer(text, return_tensors="pt")["input_ids"]
        probs = model(input_ids=ids).logits[0, -1].softmax(-1).sort(descending=True).values
        sizes.append(int((probs.cumsum(-1) - probs <= top_p).sum()))
    return float(sorted(sizes)[len(sizes) // 2])


def load_tokenizer():
    from transformers import GPT2TokenizerFast

    folder = SHARED / "models" / "gpt2_tokenizer"
    if (folder / "vocab.json").is_file():
        tokenizer = GPT2TokenizerFast.from_pretrained(str(folder))
    else:
        from hf_fair_compress.data import builtin_corpus
        from hf_fair_compress.modeling import train_bpe_tokenizer

        tokenizer = train_bpe_tokenizer(builtin_corpus(), vocab_size=2048)
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_prompts(n: int) -> list[tuple[str, str]]:
    from hf_fair_compress.eval.benchmark_data import load_rtp
    from hf_fair_compress.eval.sources import BUILTIN_FILES

    rtp = SHARED / "data" / "realtoxicityprompts" / "rtp_sample5k_quark_val.jsonl"
    prompts = load_rtp(rtp if rtp.is_file() else BUILTIN_FILES["toxicity"])
    return [(p.id, p.text) for p in prompts[:n]]


def build_scorer(folder: Path, quick: bool) -> Path:
    """A Detoxify-format checkpoint with an HF config + WordPiece tokenizer folder."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    tokenizer_words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    gpt2 = load_tokenizer()
    words = sorted({w.strip("Ġ").lower() for w in gpt2.get_vocab() if w.strip("Ġ").isalpha()})
    vocab = tokenizer_words + words[: (4000 if quick else 30000)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast.from_pretrained(str(folder))  # v5 ignores a vocab_file= argument
    assert len(tokenizer) == len(vocab), "the scorer tokenizer must hold the whole vocabulary"
    classes = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    size = (
        dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256)
        if quick
        else {}
    )
    config = BertConfig(
        vocab_size=len(vocab),
        num_labels=len(classes),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)},
        **size,
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(folder / "config")
    tokenizer.save_pretrained(folder / "config")
    args = {"model_type": "bert-base-uncased", "model_name": "BertForSequenceClassification"}
    args.update({"tokenizer_name": "BertTokenizerFast", "num_classes": len(classes)})
    ckpt = folder / "scorer.ckpt"
    torch.save(
        {
            "config": {"arch": {"args": args}, "dataset": {"args": {"classes": classes}}},
            "state_dict": model.state_dict(),
        },
        ckpt,
    )
    return ckpt


def run_suite_path(model, tokenizer, scorer, prompts, k, new_tokens, batch_size) -> float:
    from hf_fair_compress.eval.generation import generate_continuations

    start = time.perf_counter()
    texts = generate_continuations(
        model,
        tokenizer,
        prompts,
        k=k,
        max_new_tokens=new_tokens,
        batch_size=batch_size,
        progress=False,
        min_new_tokens=new_tokens,
    )
    scorer.score([t for pid, _ in prompts for t in texts[pid]])
    return time.perf_counter() - start


def run_naive(model, tokenizer, detox, prompts, k, new_tokens) -> float:
    from transformers import pipeline

    generator = pipeline("text-generation", model=model, tokenizer=tokenizer, device="cpu")
    start = time.perf_counter()
    for _, text in prompts:
        outputs = generator(
            text,
            do_sample=True,
            top_p=0.9,
            temperature=1.0,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            num_return_sequences=k,
            return_full_text=False,
            pad_token_id=tokenizer.eos_token_id,
        )
        for out in outputs:
            detox.predict(out["generated_text"])["toxicity"]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--prompts", type=int)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    torch.manual_seed(0)
    from transformers import GPT2Config, GPT2LMHeadModel

    from hf_fair_compress.eval.scorers import load_scorer

    tokenizer = load_tokenizer()
    n_prompts = args.prompts or (12 if args.quick else 48)
    prompts = load_prompts(n_prompts)
    shape = dict(n_layer=2, n_embd=128, n_head=4) if args.quick else {}
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), **shape)).eval()
    with torch.no_grad():  # see PEAKED_SCALE: make next-token distributions as peaked as a trained LM's
        model.transformer.ln_f.weight.mul_(PEAKED_SCALE)
    nucleus = nucleus_size(model, tokenizer, prompts)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = build_scorer(Path(tmp), args.quick)
        scorer = load_scorer(f"detoxify:{ckpt}", str(Path(tmp) / "config"))
        naive_scorer = load_scorer(f"detoxify:{ckpt}", str(Path(tmp) / "config"))
        rows = n_prompts * args.samples
        # Warm-up of both paths on two prompts, then the timed runs.
        run_suite_path(model, tokenizer, scorer, prompts[:2], 2, 4, args.batch_size)
        run_naive(model, tokenizer, naive_scorer.detox, prompts[:2], 2, 4)
        scorer._cache.clear()
        suite_s = run_suite_path(
            model, tokenizer, scorer, prompts, args.samples, args.new_tokens, args.batch_size
        )
        naive_s = run_naive(model, tokenizer, naive_scorer.detox, prompts, args.samples, args.new_tokens)
    result = {
        "prompts": n_prompts,
        "samples_per_prompt": args.samples,
        "new_tokens": args.new_tokens,
        "model": "gpt2-124M shape" if not args.quick else "tiny",
        "suite_per_s": round(rows / suite_s, 2),
        "naive_per_s": round(rows / naive_s, 2),
        "speedup": round(naive_s / suite_s, 2),
        "median_nucleus_tokens": nucleus,
        "target": TARGET,
        "threads": torch.get_num_threads(),
    }
    met = "met" if result["speedup"] >= TARGET else "MISSED"
    print(
        f"audit throughput: suite {result['suite_per_s']}/s vs naive {result['naive_per_s']}/s "
        f"-> {result['speedup']}x (target >= {TARGET}x: {met}); {rows} generations+scores, "
        f"median nucleus {nucleus:.0f} tokens"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
