"""The fairseq dataclass configs of lite_transformer / lite_transformer_lm and the shipped fairseq-hydra-train
configs (examples/configs): one config field per command-line option, every config composes and names a registered
architecture, a mistyped model key is refused by name, fairseq-hydra-train writes a checkpoint fairseq-generate reads,
the command line keeps ``--flag False`` and the heads alias, and ``lite-fairseq-options`` lists every option."""

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import List, Optional

import pytest
import torch
from fairseq import options as fairseq_options
from fairseq.dataclass.initialize import add_defaults, hydra_init
from fairseq.dataclass.utils import convert_namespace_to_omegaconf
from fairseq.models import ARCH_MODEL_NAME_REGISTRY, build_model as fairseq_build_model
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

import lite_fairseq  # noqa: F401  (registers the models)
from conftest import TINY_SIZES
from helpers import REPO, USER_DIR, run
from lite_fairseq.checkpoint_safety import load_checkpoint
from lite_fairseq.models import LiteTransformerLanguageModel, LiteTransformerModel
from lite_fairseq.models.config import (NON_OPTION_FIELDS, LiteTransformerConfig, LiteTransformerLMConfig,
                                        ModelConfigError, checked_config)
from lite_fairseq.models.lite_transformer_options import bool_option, resolve_side_layout
from lite_fairseq.models.options import main as options_main
from lite_fairseq.models.standalone import StandaloneTask, placeholder_dictionary

CONFIG_DIR = REPO / "examples" / "configs"
CONFIGS = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
MODELS = [(LiteTransformerModel, LiteTransformerConfig), (LiteTransformerLanguageModel, LiteTransformerLMConfig)]


def parser_actions(model_cls):
    parser = argparse.ArgumentParser(add_help=False)
    model_cls.add_args(parser)
    return parser._actions


@pytest.mark.parametrize("model_cls,config_cls", MODELS, ids=["lite_transformer", "lite_transformer_lm"])
def test_every_command_line_option_has_a_config_field_and_every_field_an_option(model_cls, config_cls):
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    expected = {"_name"} | set(NON_OPTION_FIELDS)
    for action in parser_actions(model_cls):
        first = action.dest not in expected  # the LM's --decoder-attention-heads shares its dest with another
        expected.add(action.dest)
        for flag in action.option_strings:  # aliases (--encoder-attention-heads) are config keys too
            expected.add(flag.lstrip("-").replace("-", "_"))
        field = fields[action.dest]
        assert field.default is None, f"{action.dest}: the presets decide its default, so the field's must be None"
        if action.nargs == "+":
            assert field.type == Optional[List[str]], action.dest
        elif action.type is bool_option:
            assert field.type == Optional[bool], action.dest
        elif action.type in (int, float):
            assert field.type == Optional[action.type], action.dest
        assert field.metadata.get("help") == action.help or not first, action.dest
    assert set(fields) == expected


@pytest.mark.parametrize("name", CONFIGS)
def test_every_shipped_config_composes_and_names_a_registered_architecture(name):
    assert len(CONFIGS) >= 12, "a config per paper preset: IWSLT'14 x3, WMT En-Fr x3, En-De x3, CNN-DM, WikiText x2"
    hydra_init(name)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.1"):  # as fairseq-hydra-train
        cfg = compose(config_name=name, overrides=["task.data=data-bin"])
    arch = cfg.model._name
    assert ARCH_MODEL_NAME_REGISTRY.get(arch) in ("lite_transformer", "lite_transformer_lm"), arch
    add_defaults(cfg)  # what fairseq-train does: every section merged with its registered dataclass
    assert OmegaConf.get_type(cfg.model) in (LiteTransformerConfig, LiteTransformerLMConfig)
    assert cfg.task._name in ("translation", "language_modeling") and cfg.optimization.max_update > 0
    # the preset and the config's model values resolve into valid layers, before any weight would be built
    model_cfg = checked_config(cfg.model, OmegaConf.get_type(cfg.model), ARCH_MODEL_NAME_REGISTRY[arch])
    from fairseq.models import ARCH_CONFIG_REGISTRY

    ARCH_CONFIG_REGISTRY[arch](model_cfg)
    sides = ("decoder",) if cfg.task._name == "language_modeling" else ("encoder", "decoder")
    for side in sides:
        assert len(resolve_side_layout(model_cfg, side).layers) == getattr(model_cfg, f"{side}_layers")


def test_a_mistyped_model_key_is_refused_naming_it():
    cfg = OmegaConf.create({"_name": "lite_transformer_tiny", "encoder_kernal_size_list": [3, 7, 15]})
    with pytest.raises(ModelConfigError, match=r"model\.encoder_kernal_size_list .*did you mean "
                                               r"encoder_kernel_size_list\?.*lite-fairseq-options"):
        fairseq_build_model(cfg, StandaloneTask(placeholder_dictionary(40)))


def test_a_model_value_of_the_wrong_type_is_refused_naming_it():
    cfg = OmegaConf.create({"_name": "lite_transformer_tiny", "encoder_layers": "three"})
    with pytest.raises(ModelConfigError, match="encoder_layers"):
        checked_config(cfg, LiteTransformerConfig, "lite_transformer")


def test_config_aliases_set_the_option_they_stand_for():
    task = StandaloneTask(placeholder_dictionary(40))
    cfg = OmegaConf.create({"_name": "lite_transformer_tiny", "encoder_attention_heads": 8})
    model = fairseq_build_model(cfg, task)
    assert all(layer.self_attn.branches[0].num_heads == 8 for layer in model.encoder.layers)
    lm_cfg = OmegaConf.create({"_name": "lite_transformer_lm_tiny", "decoder_attention_heads": 2})
    lm = fairseq_build_model(lm_cfg, task)
    assert all(layer.self_attn.branches[0].num_heads == 2 for layer in lm.decoder.layers)
    both = OmegaConf.create({"_name": "lite_transformer_tiny", "encoder_attention_heads": 8,
                             "encoder_attn_branch_heads": 2})
    with pytest.raises(ModelConfigError, match="encoder_attention_heads=8 and encoder_attn_branch_heads=2"):
        fairseq_build_model(both, task)


def test_fairseq_train_command_line_keeps_flag_false_the_heads_alias_and_list_strings():
    """fairseq-train's path: parse_args_and_arch, convert_namespace_to_omegaconf, build_model(cfg.model)."""
    parser = fairseq_options.get_training_parser()
    args = fairseq_options.parse_args_and_arch(parser, [
        "data-bin", "--user-dir", USER_DIR, "--task", "translation", "--arch", "lite_transformer_tiny",
        "--encoder-glu", "False", "--encoder-attention-heads", "8", "--encoder-kernel-size-list", "[3,7,15]",
        "--decoder-branch-type", "attn:1:64:4", "dynamic:default:64:4", "--share-all-embeddings"])
    cfg = convert_namespace_to_omegaconf(args)
    assert set(cfg.model.keys()) == {f.name for f in dataclasses.fields(LiteTransformerConfig)}
    assert cfg.model.encoder_glu is False and cfg.model.encoder_attn_branch_heads == 8
    model = fairseq_build_model(cfg.model, StandaloneTask(placeholder_dictionary(40)))
    sd = model.state_dict()
    assert model.encoder.layers[0].self_attn.branches[0].num_heads == 8
    assert sd["encoder.layers.0.self_attn.branches.1.linear1.weight"].shape == (64, 64)  # no GLU: not 2 x 64
    assert [sd[f"encoder.layers.{i}.self_attn.branches.1.conv.weight_linear.weight"].shape[0] for i in range(3)] \
        == [4 * 3, 4 * 7, 4 * 15]  # 4 heads x the kernel sizes given as one "[3,7,15]" word
    assert sd["decoder.layers.0.self_attn.branches.1.linear1.weight"].shape == (64, 64)  # the given dynamic branch


def test_options_command_lists_every_option_with_its_help_and_the_presets_default(capsys):
    assert options_main(["--arch", "lite_transformer_iwslt_de_en_160"]) == 0
    out = capsys.readouterr().out
    for action in parser_actions(LiteTransformerModel):
        assert ", ".join(action.option_strings) in out and action.help.split()[0] in out, action.dest
    assert "--encoder-embed-dim N   [model.encoder_embed_dim]   default: 160" in out
    assert "--encoder-conv-type {lightweight,dynamic}   [model.encoder_conv_type]   default: 'lightweight'" in out
    assert options_main(["--arch", "lite_transformer_lm_wiki103"]) == 0
    out = capsys.readouterr().out
    for action in parser_actions(LiteTransformerLanguageModel):
        assert ", ".join(action.option_strings) in out, action.dest
    assert "--decoder-embed-dim N   [model.decoder_embed_dim]   default: 896" in out
    assert options_main(["--arch", "transformer"]) == 2
    assert "not a Lite Transformer architecture" in capsys.readouterr().err


@pytest.fixture(scope="module")
def hydra_trained(tiny_data_bin, tmp_path_factory):
    """fairseq-hydra-train with the IWSLT'14 config, shrunk to the tiny preset and 2 CPU updates."""
    work = tmp_path_factory.mktemp("hydra_train")
    proc = run([sys.executable, "-m", "fairseq_cli.hydra_train", "--config-dir", CONFIG_DIR,
                "--config-name", "iwslt14_de_en_160", f"task.data={tiny_data_bin}", f"common.user_dir={USER_DIR}",
                f"checkpoint.save_dir={work / 'ckpt'}", "model._name=lite_transformer_tiny",
                "+model.encoder_attention_heads=8", "+model.encoder_glu=false", "optimization.max_update=2",
                "common.cpu=true", "common.fp16=false", "dataset.max_tokens=1024", "dataset.num_workers=0",
                "checkpoint.no_epoch_checkpoints=true"], cwd=work, timeout=600)
    return work, proc.stdout + proc.stderr


def test_hydra_train_writes_a_checkpoint_that_fairseq_generate_reads(hydra_trained, tiny_data_bin, run_cli):
    work, log = hydra_trained
    ckpt = work / "ckpt" / "checkpoint_last.pt"
    assert ckpt.is_file(), log[-2000:]
    model_cfg = load_checkpoint(ckpt)["cfg"]["model"]
    assert model_cfg["_name"] == "lite_transformer_tiny" and model_cfg["dropout"] == 0.2  # the config's value
    assert model_cfg["encoder_attn_branch_heads"] == 8 and model_cfg["encoder_glu"] is False
    proc = run_cli("generate", [tiny_data_bin, "--user-dir", USER_DIR, "--path", ckpt, "--gen-subset", "test",
                                "--beam", 2, "--max-len-b", 10, "--cpu", "--model-overrides", "{'cpu_int8': True}"])
    assert "Generate test with beam=2" in proc.stdout + proc.stderr
    assert sum(line.startswith("H-") for line in proc.stdout.splitlines()) == TINY_SIZES["test"]


@pytest.mark.parametrize("override", ["+model.encoder_kernal_size_list=[3,7,15]",
                                      "model.encoder_kernal_size_list=[3,7,15]"])
def test_hydra_train_refuses_a_mistyped_model_key_naming_it(override, tmp_path):
    proc = run([sys.executable, "-m", "fairseq_cli.hydra_train", "--config-dir", CONFIG_DIR,
                "--config-name", "iwslt14_de_en_160", "task.data=missing-data-bin", f"common.user_dir={USER_DIR}",
                "common.cpu=true", "common.fp16=false", override], cwd=tmp_path, check=False, timeout=300)
    assert proc.returncode != 0
    last_lines = "\n".join(proc.stderr.strip().splitlines()[-6:])  # what the user reads first
    assert "encoder_kernal_size_list" in last_lines, last_lines
    assert not (tmp_path / "checkpoints").exists()


def test_shipped_configs_follow_the_recipes_schedules():
    """The configs carry the train.sh recipes' numbers (spot checks of what differs between them)."""
    def load(name):
        return OmegaConf.load(CONFIG_DIR / f"{name}.yaml")

    assert load("iwslt14_de_en_160").optimization.lr == [0.0005]
    assert load("iwslt14_de_en_160").lr_scheduler.warmup_updates == 4000
    assert load("wmt14_en_fr_408").model.attention_dropout == 0.07
    assert load("wmt16_en_de_408").model.attention_dropout == 0.06
    assert load("wmt14_en_fr_496").lr_scheduler.lr_period_updates == 45000
    assert load("wmt16_en_de_496").lr_scheduler.warmup_updates == 10000
    assert load("cnn_dm").task.truncate_source is True
    assert load("wikitext103").criterion._name == "adaptive_loss"
    assert Path(CONFIG_DIR / "README.md").is_file()


@pytest.mark.parametrize("form", ["cfg_namespace_arch", "cfg_namespace_model_name", "args_namespace"])
def test_checkpoints_with_argparse_model_options_still_load(form, hydra_trained, tmp_path):
    """Checkpoints written before the dataclass config existed hold the model options as an argparse Namespace
    (``cfg.model``, or ``args`` for older fairseq); they load into the same model."""
    from fairseq import checkpoint_utils, tasks

    work, _ = hydra_trained
    state = load_checkpoint(work / "ckpt" / "checkpoint_last.pt")
    task_cfg = state["cfg"]["task"]
    options = {k: v for k, v in state["cfg"]["model"].items() if k not in ("relu_dropout", "encoder_attention_heads",
                                                                         "tokens_per_sample", "cpu_int8")}
    arch = "lite_transformer" if form == "cfg_namespace_model_name" else options["_name"]
    # (under the model's own name the base architecture applies: the options hold every value the tiny preset set)
    namespace = argparse.Namespace(**{**options, "_name": arch, "arch": arch})
    if form == "args_namespace":
        task_options = {k: v for k, v in task_cfg.items() if k != "_name"}
        state["args"] = argparse.Namespace(**{**vars(namespace), **task_options, "task": "translation"})
        state["cfg"] = None
    else:
        state["cfg"]["model"] = namespace
    old = tmp_path / "old.pt"
    torch.save(state, old)

    task = tasks.setup_task(OmegaConf.create(task_cfg))
    (new_model,), _ = checkpoint_utils.load_model_ensemble([str(work / "ckpt" / "checkpoint_last.pt")], task=task)
    (old_model,), cfg = checkpoint_utils.load_model_ensemble([str(old)], task=task)
    assert cfg.model.encoder_attn_branch_heads == 8 and cfg.model.encoder_glu is False
    new_sd, old_sd = new_model.state_dict(), old_model.state_dict()
    assert list(new_sd) == list(old_sd) and all(torch.equal(new_sd[k], old_sd[k]) for k in new_sd)
