"""A small, project-written English corpus so the demo and tests run with no download.

The sentences are generated from hand-written word lists with a seeded RNG; they only need to look like text
to train a byte-level BPE tokenizer and to exercise the training pipeline.
"""

from __future__ import annotations

import random

_SUBJECTS = [
    "the river",
    "a small town",
    "the old library",
    "our garden",
    "the night train",
    "a quiet harbour",
    "the museum",
    "the village market",
    "a mountain road",
    "the school choir",
    "the bakery",
    "a research team",
    "the city council",
    "the orchestra",
    "a young engineer",
    "the weather station",
    "the ferry",
    "the farmers",
]
_VERBS = [
    "opened",
    "closed",
    "welcomed",
    "measured",
    "repaired",
    "painted",
    "described",
    "studied",
    "visited",
    "planned",
    "recorded",
    "collected",
    "improved",
    "built",
    "watched",
    "followed",
    "shared",
    "explained",
]
_OBJECTS = [
    "a new bridge",
    "the morning light",
    "several old maps",
    "a long report",
    "the spring festival",
    "three wooden boats",
    "the annual budget",
    "a careful survey",
    "the first snow",
    "a simple machine",
    "the evening concert",
    "a box of letters",
    "the water supply",
    "a row of lamps",
    "the summer harvest",
]
_TAILS = [
    "after a long winter",
    "before the rain arrived",
    "with great patience",
    "for the first time in years",
    "during the week",
    "near the northern hills",
    "in the early morning",
    "as the sun went down",
    "with help from neighbours",
    "without much noise",
    "under a clear sky",
    "while visitors waited",
]
_FACTS = [
    "Water boils at one hundred degrees at sea level.",
    "Most maps are drawn with north at the top.",
    "Bread rises because yeast produces gas.",
    "A kilometre is a thousand metres.",
    "Trains run on steel rails laid on sleepers.",
    "Bees carry pollen from flower to flower.",
    "The moon reflects the light of the sun.",
    "Libraries lend books, music and films.",
]


def builtin_corpus(n_paragraphs: int = 400, seed: int = 0) -> list[str]:
    """Deterministic paragraphs of simple English."""
    rng = random.Random(seed)
    paragraphs = []
    for _ in range(n_paragraphs):
        sentences = []
        for _ in range(rng.randint(3, 6)):
            if rng.random() < 0.2:
                sentences.append(rng.choice(_FACTS))
                continue
            sentence = (
                f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
            )
            sentences.append(sentence[0].upper() + sentence[1:])
        paragraphs.append(" ".join(sentences))
    return paragraphs
