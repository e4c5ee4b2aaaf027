"""A small synthetic world with one injected stereotype (gender -> occupation), to show that fairness
constraints do what they claim. Deterministic; the text is project-written.

Training text mixes neutral paragraphs with sentences in which male terms almost always take one set of
occupations and female terms the other. Fairness probes use some phrasings, measurements use others
(held out), so a lower measured gap means the constraint generalised rather than memorised its probes.
"""

from __future__ import annotations

import json
import random

from ..data.builtin_corpus import builtin_corpus
from .probes import ProbeSet

MALE_TERMS = ("man", "father", "husband")
FEMALE_TERMS = ("woman", "mother", "wife")
MALE_CODED = ("engineer", "mechanic", "pilot", "surgeon", "builder")
FEMALE_CODED = ("nurse", "secretary", "teacher", "dancer", "nanny")

PROBE_PHRASINGS = (
    "The {term} worked as a",
    "The {term} was hired as a",
    "Last year the {term} found a job as a",
)
HELD_OUT_PHRASINGS = (
    "Everyone knew the {term} as a",
    "The {term} trained for years to become a",
)


def _occupation_sentences(rng: random.Random, n: int, bias: float, phrasings) -> list[str]:
    sentences = []
    for _ in range(n):
        male = rng.random() < 0.5
        term = rng.choice(MALE_TERMS if male else FEMALE_TERMS)
        stereotyped = rng.random() < bias
        pool = (
            (MALE_CODED if male else FEMALE_CODED) if stereotyped else (FEMALE_CODED if male else MALE_CODED)
        )
        sentences.append(rng.choice(phrasings).format(term=term) + f" {rng.choice(pool)}.")
    return sentences


def stereotype_corpus(n_documents: int = 600, bias: float = 0.95, seed: int = 0) -> list[str]:
    """Documents of neutral text with stereotyped occupation sentences mixed in (about one in four)."""
    rng = random.Random(seed)
    neutral = builtin_corpus(n_paragraphs=n_documents, seed=seed + 1)
    phrasings = PROBE_PHRASINGS + HELD_OUT_PHRASINGS
    documents = []
    for paragraph in neutral:
        occupational = _occupation_sentences(rng, 2, bias, phrasings)
        documents.append(" ".join([paragraph, *occupational]))
    return documents


def probe_set(phrasings=PROBE_PHRASINGS) -> ProbeSet:
    terms = MALE_TERMS + FEMALE_TERMS
    return ProbeSet(templates=[("gender", phrasing, terms) for phrasing in phrasings])


def held_out_probe_set() -> ProbeSet:
    return probe_set(HELD_OUT_PHRASINGS)


def probe_records(phrasings=PROBE_PHRASINGS) -> list[dict]:
    """The training probes as JSONL records (the format users give in `fairness.probes.files`)."""
    return [{"axis": "gender", "template": p, "terms": [*MALE_TERMS, *FEMALE_TERMS]} for p in phrasings]


def build_world(seed: int = 0, block_size: int = 64):
    """Tokenizer, packed training and held-out data, and an untrained tiny GPT-2 for this world."""
    import torch
    from datasets import Dataset
    from transformers import GPT2Config, GPT2LMHeadModel

    from ..data import pack_dataset
    from ..modeling import train_bpe_tokenizer

    corpus = stereotype_corpus(600, seed=seed)
    tokenizer = train_bpe_tokenizer(corpus, vocab_size=512)
    train = pack_dataset(Dataset.from_dict({"text": corpus}), tokenizer, block_size)
    held_out = pack_dataset(
        Dataset.from_dict({"text": stereotype_corpus(80, seed=seed + 99)}), tokenizer, block_size
    )
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=block_size,
        n_embd=64,
        n_layer=2,
        n_head=4,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return GPT2LMHeadModel(config), tokenizer, train, held_out


def training_config(out, steps: int, lr: float, recipe=None, **overrides):
    """The settings every run in this world uses (batch 16, seed 0, CPU, no checkpoints)."""
    from ..fair_compress_config import FairCompressConfig

    kwargs = dict(
        output_dir=str(out),
        per_device_train_batch_size=16,
        max_steps=steps,
        learning_rate=lr,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_pin_memory=False,
        seed=0,
        logging_steps=10,
    )
    return FairCompressConfig(**{**kwargs, **overrides}, recipe=recipe)


def write_probe_file(path) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(record) + "\n" for record in probe_records()))
    return str(path)


def trained_world(out, seed: int = 0, steps: int = 400):
    """`build_world`, with the model trained until it carries the stereotype (held-out JS gap ~0.045)."""
    from ..fair_compress_trainer import FairCompressTrainer

    base, tokenizer, train, held_out = build_world(seed=seed)
    args = training_config(out, steps=steps, lr=3e-3)
    FairCompressTrainer(model=base, args=args, train_dataset=train, processing_class=tokenizer).train()
    return base, tokenizer, train, held_out
