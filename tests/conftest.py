"""Fixtures that build tiny GPT-2 models from configs: no download, CPU, a few seconds each."""

from __future__ import annotations

import os

# Before anything imports huggingface_hub, which reads these once: tests never reach for the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GPT2_TOKENIZER_DIR = SHARED / "models" / "gpt2_tokenizer"
TINY_CONFIG = REPO / "recipes" / "models" / "tiny-gpt2.json"


@pytest.fixture(scope="session")
def embedded_tokenizer():
    from hf_fair_compress.data import builtin_corpus
    from hf_fair_compress.modeling import train_bpe_tokenizer

    return train_bpe_tokenizer(builtin_corpus(), vocab_size=512)


def make_tiny_gpt2(
    vocab_size: int = 512,
    n_layer: int = 2,
    n_embd: int = 32,
    n_head: int = 4,
    seed: int = 0,
    n_positions: int = 64,
):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_inner=4 * n_embd,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return GPT2LMHeadModel(config)


@pytest.fixture
def tiny_gpt2(embedded_tokenizer):
    return make_tiny_gpt2(vocab_size=len(embedded_tokenizer))


@pytest.fixture(scope="session")
def packed_dataset(embedded_tokenizer):
    from hf_fair_compress.data import builtin_corpus, pack_dataset

    raw = Dataset.from_dict({"text": builtin_corpus(n_paragraphs=120)})
    return pack_dataset(raw, embedded_tokenizer, block_size=32)


def tiny_config_kwargs(tmp_path: Path, **overrides):
    kwargs = dict(
        output_dir=str(tmp_path / "run"),
        per_device_train_batch_size=4,
        max_steps=6,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=0,
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    kwargs.update(overrides)
    return kwargs


def gpt2_tokenizer_or_skip():
    if not (GPT2_TOKENIZER_DIR / "vocab.json").is_file():
        pytest.skip("../shared/models/gpt2_tokenizer not present")
    from transformers import GPT2TokenizerFast

    tokenizer = GPT2TokenizerFast.from_pretrained(str(GPT2_TOKENIZER_DIR))
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def ragged_dataset(n: int = 8, length: int = 16, vocab: int = 512, seed: int = 0) -> Dataset:
    """Rows with different numbers of real tokens, so micro-batches hold different token counts."""
    g = torch.Generator().manual_seed(seed)
    rows = {"input_ids": [], "attention_mask": [], "labels": []}
    for i in range(n):
        real = 4 + (i * 3) % (length - 4)
        ids = torch.randint(1, vocab, (length,), generator=g)
        mask = torch.zeros(length, dtype=torch.long)
        mask[:real] = 1
        labels = ids.clone()
        labels[real:] = -100
        rows["input_ids"].append(ids.tolist())
        rows["attention_mask"].append(mask.tolist())
        rows["labels"].append(labels.tolist())
    return Dataset.from_dict(rows)


def one_sgd_step(
    tmp_path: Path,
    batch: int,
    ga: int,
    recipe=None,
    trainer_cls=None,
    vocab_size: int = 512,
    **trainer_kwargs,
) -> dict:
    """Weights after one plain-SGD optimizer step on the same 8 ragged rows (for GA equivalence tests)."""
    from hf_fair_compress import FairCompressConfig, FairCompressTrainer

    trainer_cls = trainer_cls or FairCompressTrainer
    args = FairCompressConfig(
        **tiny_config_kwargs(
            tmp_path / f"b{batch}ga{ga}",
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=ga,
            max_steps=1,
            optim="sgd",
            learning_rate=0.5,
            weight_decay=0.0,
            max_grad_norm=0.0,
            lr_scheduler_type="constant",
        ),
        recipe=recipe,
    )
    model = make_tiny_gpt2(vocab_size=vocab_size, seed=1)
    trainer = trainer_cls(
        model=model, args=args, train_dataset=ragged_dataset(vocab=vocab_size), **trainer_kwargs
    )
    trainer.train()
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


CLASSIFIER_WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "you",
    "are",
    "a",
    "nice",
    "awful",
    "person",
    "the",
    "river",
]
CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def make_tiny_classifier(tmp_path: Path):
    """A 1-layer BERT multi-label toxicity classifier: HF folder + Detoxify-format checkpoint (random weights)."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(CLASSIFIER_WORDS) + "\n")
    tokenizer = BertTokenizerFast.from_pretrained(str(tmp_path))  # v5 ignores a vocab_file= argument
    assert tokenizer.unk_token_id not in tokenizer("you are nice")["input_ids"], (
        "tokenizer lost its vocabulary"
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(CLASSIFIER_WORDS),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=len(CLASSES),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(CLASSES)),
        label2id={c: i for i, c in enumerate(CLASSES)},
    )
    model = BertForSequenceClassification(config).eval()
    folder = tmp_path / "scorer"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ckpt = tmp_path / "tiny.ckpt"
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": "bert-base-uncased",
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizerFast",
                        "num_classes": len(CLASSES),
                    }
                },
                "dataset": {"args": {"classes": CLASSES}},
            },
            "state_dict": model.state_dict(),
        },
        ckpt,
    )
    return model, tokenizer, folder, ckpt


@pytest.fixture
def tiny_classifier(tmp_path):
    return make_tiny_classifier(tmp_path)
