"""Recipe mistakes are ConfigErrors (exit 2) that name the key and what was expected, never a silent
coercion, a silently kept last value, or a traceback."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from curate.cli import app
from curate.config import Recipe, load_recipe
from curate.errors import ConfigError
from curate.train.config import TrainRecipe, load_train_recipe

runner = CliRunner()


def recipe_error(overrides: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        load_recipe(overrides=overrides)
    return caught.value.message


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---- values the recipe model must refuse


@pytest.mark.parametrize("token", ["<|im_start|>", "<|im_end|>"])
def test_a_system_prompt_with_a_control_token_is_refused(token):
    message = recipe_error({"render.system_prompt": f"You are helpful.{token}user\nhi"})
    assert f"render.system_prompt contains the control token {token!r} (validate.control_tokens)" in message
    assert "ChatML turn structure" in message


def test_the_system_prompt_is_checked_against_the_recipes_own_control_tokens():
    overrides = {"validate.control_tokens": ["[INST]"], "render.system_prompt": "Answer. [INST]"}
    assert "contains the control token '[INST]'" in recipe_error(overrides)
    assert load_recipe(overrides={"render.system_prompt": "Be brief."}).render.system_prompt == "Be brief."


def test_a_system_prompt_flag_with_a_control_token_exits_2(tmp_path):
    args = ["build", "--system-prompt", "hi<|im_end|>", "-o", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Error: invalid recipe: render.system_prompt contains the control token '<|im_end|>'" in result.stderr


@pytest.mark.parametrize("tokens", [[""], ["<|im_end|>", "  "]])
def test_a_blank_control_token_is_refused(tokens):
    # "" is "contained" in every text: every row would be dropped as control_token.
    message = recipe_error({"validate.control_tokens": tokens})
    assert "validate.control_tokens: entry" in message and "is empty or whitespace; expected a token" in message


def numeric_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every int or float field of a recipe model and its sections, as dotted keys."""
    found = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += numeric_fields(annotation, key + ".")
        elif {int, float} & {annotation, *typing.get_args(annotation)}:
            found.append(key)
    return found


def test_every_number_field_is_found():  # the two tests below cover what this lists
    assert {"split.test_size", "preference.min_rating_gap", "tokens.max_length"} <= set(numeric_fields(Recipe))
    assert {"beta", "lora.r", "max_length", "torch_threads"} <= set(numeric_fields(TrainRecipe))


@pytest.mark.parametrize("key", numeric_fields(Recipe))
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_for_a_build_number_is_refused(key, value):
    overrides = {key: value, **({"tokens.tokenizer": "t"} if key == "tokens.max_length" else {})}
    expected = f"{key}: expected a number, found a boolean ({str(value).lower()})"
    assert expected in recipe_error(overrides)


@pytest.mark.parametrize("key", numeric_fields(TrainRecipe))
def test_a_boolean_for_a_training_number_is_refused(key):
    with pytest.raises(ConfigError, match=f"{key}: expected a number, found a boolean"):
        load_train_recipe(overrides={key: True})


YAML_BOOLEANS = [
    ("split: {test_size: true}", "split.test_size"),
    ("preference:\n  min_rating_gap: yes", "preference.min_rating_gap"),
]


@pytest.mark.parametrize(("line", "key"), YAML_BOOLEANS)
def test_yaml_booleans_in_a_recipe_file_exit_2(tmp_path, line, key):
    result = runner.invoke(app, ["recipe", "-r", str(write(tmp_path / "r.yaml", line + "\n"))])
    assert result.exit_code == 2, result.output
    assert f"{key}: expected a number, found a boolean (true)" in result.stderr


def test_numbers_still_load():
    recipe = load_recipe(overrides={"split.test_size": 0, "preference.min_rating_gap": 2, "split.seed": 7})
    assert (recipe.split.test_size, recipe.preference.min_rating_gap, recipe.split.seed) == (0.0, 2.0, 7)


# ---- the YAML file itself


def test_a_key_given_twice_is_an_error_naming_the_key_and_lines(tmp_path):
    path = write(tmp_path / "r.yaml", "split:\n  test_size: 0.2\n  seed: 3\n  test_size: 0.3\n")
    with pytest.raises(ConfigError) as caught:
        load_recipe(path)
    assert caught.value.message == f"recipe {path}: key 'test_size' appears twice in one mapping (lines 2 and 4)"


def test_a_section_given_twice_is_an_error(tmp_path):
    path = write(tmp_path / "r.yaml", "split:\n  test_size: 0.2\ncard:\n  tags: [x]\nsplit:\n  seed: 3\n")
    result = runner.invoke(app, ["recipe", "-r", str(path)])
    assert result.exit_code == 2, result.output
    assert "key 'split' appears twice in one mapping (lines 1 and 5)" in result.stderr


def test_a_merge_key_may_still_be_overridden(tmp_path):
    text = "near_dedup: &keep\n  prompt_duplicates: keep_all\ndedup:\n  <<: *keep\n  prompt_duplicates: best\n"
    assert load_recipe(write(tmp_path / "r.yaml", text)).dedup.prompt_duplicates == "best"


def test_a_training_recipe_key_given_twice_is_an_error(tmp_path):
    path = write(tmp_path / "t.yaml", "beta: 0.1\nlora:\n  r: 8\nbeta: 0.5\n")
    with pytest.raises(ConfigError, match="key 'beta' appears twice in one mapping \\(lines 1 and 4\\)"):
        load_train_recipe(path)


def test_a_set_value_that_is_not_yaml_exits_2():
    result = runner.invoke(app, ["train", "curated", "--set", "lora={r: 1, r: 2}", "--dry-run"])
    assert result.exit_code == 2, result.output
    assert "--set 'lora={r: 1, r: 2}': the value is not valid YAML (key 'r' appears twice" in result.stderr
    result = runner.invoke(app, ["train", "curated", "--set", "lora.target_modules=[q", "--dry-run"])
    assert result.exit_code == 2 and "the value is not valid YAML" in result.stderr


@pytest.mark.parametrize("command", ["build", "recipe", "train"])
def test_a_recipe_that_is_a_folder_exits_2(tmp_path, command):
    result = runner.invoke(app, [command, "-r", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"Error: recipe {tmp_path} is a folder, not a file" in result.stderr
    assert "Hint: Pass a readable YAML file to -r/--recipe." in result.stderr


@pytest.mark.parametrize("command", ["build", "recipe", "train"])
def test_a_missing_recipe_exits_2(tmp_path, command):
    result = runner.invoke(app, [command, "-r", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2, result.output
    assert f"Error: recipe file not found: {tmp_path / 'nope.yaml'}" in result.stderr
    assert "Hint: Pass a readable YAML file to -r/--recipe." in result.stderr


def test_an_unreadable_recipe_is_a_config_error(tmp_path, monkeypatch):
    path = write(tmp_path / "r.yaml", "split: {seed: 1}\n")
    original = Path.read_text

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)  # root reads any file, so chmod cannot show this
    with pytest.raises(ConfigError, match=f"cannot read recipe {path}: Permission denied"):
        load_recipe(path)
