"""`ceneurovae.config`: the run configuration's sections, YAML files, overrides and
``--print-config``."""

import pytest
import yaml

from ceneurovae import Config
from ceneurovae.errors import ConfigError
from ceneurovae.io import ReadOptions
from conftest import run_cli


class TestConfigFiles:
    def test_unknown_and_mistyped_keys(self, tmp_path):
        (tmp_path / "a.yaml").write_text("model:\n  latent_dimm: 4\n")
        with pytest.raises(ConfigError, match=r"unknown key\(s\) \['latent_dimm'\]"):
            Config.from_yaml(tmp_path / "a.yaml")
        (tmp_path / "b.yaml").write_text("train:\n  lr: fast\n")
        with pytest.raises(ConfigError, match=r"train.lr = 'fast': expected float"):
            Config.from_yaml(tmp_path / "b.yaml")
        (tmp_path / "c.yaml").write_text("trainer:\n  lr: 1\n")
        with pytest.raises(ConfigError, match=r"unknown section\(s\) \['trainer'\]"):
            Config.from_yaml(tmp_path / "c.yaml")

    def test_yaml_round_trip(self, tmp_path):
        cfg = Config().with_overrides(["model.latent_dim=3", "model.behavior_taus=[0, 4]", "data.behaviors=[velocity]"])
        cfg.to_yaml(tmp_path / "r.yaml")
        assert Config.from_yaml(tmp_path / "r.yaml") == cfg



class TestPrintConfig:
    def test_print_config(self):
        res = run_cli("train", "--print-config", "--set", "model.latent_dim=7")
        assert res.returncode == 0, res.stderr
        assert Config.from_dict(__import__("yaml").safe_load(res.stdout)).model.latent_dim == 7

    def test_bad_override_is_a_clear_error(self):
        res = run_cli("train", "--print-config", "--set", "model.latent_dim=0")
        assert res.returncode == 2 and "model.latent_dim = 0" in res.stderr and "Traceback" not in res.stderr

class TestReadSection:
    """The ``read`` section (`ReadOptions`) as part of a run configuration."""

    def test_sections(self):
        assert list(Config().to_dict()) == ["read", "data", "model", "train"]

    def test_from_dict(self):
        assert Config.from_dict({"read": {"labels": "x.json"}}).read.labels == "x.json"

    def test_overrides(self):
        assert Config().with_overrides(["read.min_confidence=3"]).read.min_confidence == 3
        with pytest.raises(ConfigError, match=r"read\.min_confidence"):
            Config().with_overrides(["read.min_confidence=-1"])

    def test_commented_yaml_parses_back(self):
        cfg = Config().with_overrides(["read.labels=x.json", "model.latent_dim=3"])
        text = cfg.to_yaml(comments=True)
        assert yaml.safe_load(text) == cfg.to_dict()
        assert any(line.lstrip().startswith("# ") for line in text.splitlines())

    def test_a_config_without_a_read_section_gets_the_default_read_options(self):
        old = {k: v for k, v in Config().with_overrides(["model.latent_dim=3"]).to_dict().items() if k != "read"}
        cfg = Config.from_dict(old)  # as saved in checkpoints from before the read section
        assert cfg.read == ReadOptions() and cfg.model.latent_dim == 3
