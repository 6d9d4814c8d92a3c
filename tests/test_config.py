"""`ceneurovae.config`: the run configuration's sections, YAML files, overrides and
``--print-config``."""

import pytest

from ceneurovae import Config
from ceneurovae.errors import ConfigError
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
