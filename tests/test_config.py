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


class TestBoundsAndBadFiles:
    """Issue 22: settings that passed validation and failed deep inside numpy or torch, and
    config files accepted with a wrong meaning."""

    @pytest.mark.parametrize("override, message", [
        ("train.seed=-1", "train.seed = -1: must be in [0, 4294967295]"),
        ("train.seed=100000000000000000000000", "out of range for an integer setting"),
        ("model.max_len=10", "model.max_len = 10 is shorter than a window (data.window_T = 100)"),
        ("model.hidden_dim=1000000000", "model.hidden_dim = 1000000000: must be in [1, 16384]"),
        ("train.beta=.inf", "train.beta = inf: must be a finite number"),
        ("model.dt=.inf", "model.dt = inf: must be a finite number"),
        ("train.lr=.nan", "train.lr = nan: must be a finite number"),
        ("data.window_T=100000000", "data.window_T = 100000000: must be in [1, 1000000]"),
    ])
    def test_refused_when_the_config_is_built(self, override, message):
        with pytest.raises(ConfigError) as err:
            Config().with_overrides([override])
        assert message in str(err.value)

    def test_a_number_written_as_text_is_the_number(self, tmp_path):
        path = tmp_path / "run.yaml"
        path.write_text("train:\n  lr: 1e-3\n  beta: 5E-1\nmodel:\n  dt: '0.6'\n")
        cfg = Config.from_yaml(path)
        assert cfg.train.lr == 0.001 and cfg.train.beta == 0.5 and cfg.model.dt == 0.6
        assert Config().with_overrides(["train.lr=2e-4"]).train.lr == 2e-4
        with pytest.raises(ConfigError, match="train.lr = 'fast': expected float"):
            Config().with_overrides(["train.lr=fast"])

    def test_a_key_given_twice(self, tmp_path):
        path = tmp_path / "run.yaml"
        path.write_text("train:\n  lr: 0.001\n  epochs: 3\n  lr: 0.1\n")
        with pytest.raises(ConfigError, match=r"'lr' is given twice \(first at line 2\)"):
            Config.from_yaml(path)
        path.write_text("train:\n  lr: 0.001\nmodel: {}\ntrain:\n  epochs: 3\n")
        with pytest.raises(ConfigError, match="'train' is given twice"):
            Config.from_yaml(path)

    def test_a_file_that_is_not_utf8(self, tmp_path):
        path = tmp_path / "run.yaml"
        path.write_bytes("train:\n  lr: 0.001 # réglé\n".encode("latin-1"))
        with pytest.raises(ConfigError, match="is not UTF-8 text"):
            Config.from_yaml(path)


def test_a_learning_rate_that_diverges_stops_with_the_packages_error(cohort):
    """Issue 22: train.lr=1000 ended in torch's LinAlgError from the encoder's Cholesky."""
    import ceneurovae
    from ceneurovae.errors import TrainingError

    ds, _ = cohort
    config = {"train.epochs": 2, "model.hidden_dim": 32, "model.latent_dim": 4, "model.n_heads": 2,
              "model.read_in_factors": 4, "model.behavior_history": 20, "data.window_T": 50, "data.stride": 25,
              "train.quiet": True, "train.lr": 1000.0, "train.warmup_epochs": 0}
    with pytest.raises(TrainingError, match="diverged|non-finite"):
        ceneurovae.fit(ds, config=config, seed=0)
