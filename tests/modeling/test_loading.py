import pytest

from hf_fair_compress import FairCompressError
from hf_fair_compress.modeling import build_embedded_model, load_model_and_tokenizer

from ..conftest import TINY_CONFIG, make_tiny_gpt2


def test_embedded_model_is_deterministic_and_tokenizer_encodes():
    m1, tok = build_embedded_model(TINY_CONFIG, seed=0)
    m2, _ = build_embedded_model(TINY_CONFIG, seed=0)
    ids = tok("The orchestra repaired a simple machine.")["input_ids"]
    assert ids and tok.decode(ids) == "The orchestra repaired a simple machine."
    assert m1.config.vocab_size == len(tok)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert a.equal(b)


def test_local_folder_loads_and_a_broken_folder_is_explained(tmp_path, embedded_tokenizer):
    folder = tmp_path / "m"
    make_tiny_gpt2(vocab_size=len(embedded_tokenizer)).save_pretrained(folder)
    embedded_tokenizer.save_pretrained(folder)
    model, tok = load_model_and_tokenizer(str(folder))
    assert model.config.n_layer == 2 and tok.pad_token is not None
    broken = tmp_path / "broken"
    broken.mkdir()
    with pytest.raises(FairCompressError, match="could not load the model folder"):
        load_model_and_tokenizer(str(broken))
