from pathlib import Path

import pytest

from hf_fair_compress import FairCompressError, load_recipe
from hf_fair_compress.recipe import recipe_from_dict

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").rglob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_shipped_recipe_loads(path):
    recipe = load_recipe(path)
    assert recipe.name
    assert len(recipe.sha256) == 64


def test_unknown_key_names_the_key_and_the_allowed_ones():
    with pytest.raises(FairCompressError) as info:
        recipe_from_dict({"pruning": {"method": "magnitude", "sparsty": 0.5}})
    message = str(info.value)
    assert "'sparsty'" in message
    assert "sparsity" in message and "method" in message
    assert "\n" not in message


def test_unknown_top_level_and_training_keys_are_errors():
    with pytest.raises(FairCompressError, match="'prunning'"):
        recipe_from_dict({"prunning": {}})
    with pytest.raises(FairCompressError, match="training.'max_stepz'"):
        recipe_from_dict({"training": {"max_stepz": 3}})


@pytest.mark.parametrize("sparsity", [1.0, -0.1, 1.5])
def test_sparsity_outside_unit_interval_is_rejected(sparsity):
    with pytest.raises(FairCompressError, match=r"pruning.sparsity must be in \[0, 1\)"):
        recipe_from_dict({"pruning": {"method": "magnitude", "sparsity": sparsity}})


def test_invalid_choices_and_combinations():
    with pytest.raises(FairCompressError, match="pruning.method must be one of"):
        recipe_from_dict({"pruning": {"method": "random"}})
    with pytest.raises(FairCompressError, match="needs an unstructured method"):
        recipe_from_dict({"pruning": {"method": "mlp_neurons", "pattern": "2:4"}})
    with pytest.raises(FairCompressError, match="one-shot"):
        recipe_from_dict({"pruning": {"method": "wanda", "sparsity": 0.5, "schedule": {"kind": "cubic"}}})
    with pytest.raises(FairCompressError, match="keep_layers"):
        recipe_from_dict({"pruning": {"method": "layers"}})
    with pytest.raises(FairCompressError, match="repeats"):
        recipe_from_dict({"pruning": {"method": "layers", "keep_layers": [0, 0]}})


def test_yaml_scientific_notation_strings_become_floats():
    recipe = recipe_from_dict(
        {"pruning": {"method": "movement", "sparsity": 0.5, "score_learning_rate": "1e-2"}}
    )
    assert recipe.pruning.score_learning_rate == pytest.approx(0.01)


def test_gradual_magnitude_defaults_to_cubic_schedule_and_nm_fixes_sparsity():
    recipe = recipe_from_dict({"pruning": {"method": "gradual_magnitude", "sparsity": 0.7}})
    assert recipe.pruning.schedule.kind == "cubic"
    nm = recipe_from_dict({"pruning": {"method": "magnitude", "pattern": "2:4"}})
    assert nm.pruning.effective_sparsity == pytest.approx(0.5)


def test_hash_ignores_formatting(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("name: x\npruning: {method: magnitude, sparsity: 0.5}\n")
    b.write_text("name: x\npruning:\n  sparsity: 0.50\n  method: magnitude\n")
    assert load_recipe(a).sha256 == load_recipe(b).sha256
