"""The front door: `fit` and `load`."""

import numpy as np
import pytest
import torch

import ceneurovae
from ceneurovae import Config, Recording
from ceneurovae.errors import CheckpointError
from conftest import FAST


class TestFit:
    def test_split_and_history(self, trained, cohort):
        ds, vocab = cohort
        assert len(trained.val_uids) == 1 and set(trained.train_uids) | set(trained.val_uids) == set(ds)
        assert len(trained.history) == 4 and trained.vocabulary == vocab
        assert trained.behavior_names == ["velocity", "head_curvature", "pumping"]

    def test_config_from_yaml_path(self, cohort, tmp_path):
        cfg = Config().with_overrides(FAST)
        cfg.train.epochs = 2
        cfg.to_yaml(tmp_path / "run.yaml")
        t = ceneurovae.fit(cohort[0], config=tmp_path / "run.yaml")
        assert len(t.history) == 2 and t.model.cfg.hidden_dim == 32

    def test_recordings_without_vocabulary_get_one_from_labels(self, cohort):
        ds, vocab = cohort
        plain = {u: r.replace(vocabulary=None, identity=None) for u, r in ds.items()}
        t = ceneurovae.fit(plain, config={**FAST, "train.epochs": 1})
        assert set(t.vocabulary.names) == {n for r in ds.values() for n in r.labels if n}



class TestLoad:
    def test_malicious_pickle_is_refused_without_running(self, tmp_path):
        marker = tmp_path / "pwned"

        class Evil:
            def __reduce__(self):
                return (open, (str(marker), "w"))

        path = tmp_path / "evil.pt"
        torch.save({"format": "ceneurovae-checkpoint-v1", "model_config": {}, "model_state": Evil()}, path)
        with pytest.raises(CheckpointError, match="refused without running"):
            ceneurovae.load(path)
        assert not marker.exists()

    def test_truncated_and_foreign_files(self, trained, tmp_path):
        trained.save(tmp_path / "m.pt")
        data = (tmp_path / "m.pt").read_bytes()
        (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
        with pytest.raises(CheckpointError, match="damaged"):
            ceneurovae.load(tmp_path / "cut.pt")
        torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
        with pytest.raises(CheckpointError, match="not a ceneurovae checkpoint"):
            ceneurovae.load(tmp_path / "foreign.pt")
        with pytest.raises(CheckpointError, match="does not exist"):
            ceneurovae.load(tmp_path / "nothing.pt")



def test_recording_from_numpy_for_any_organism():
    rng = np.random.default_rng(0)
    recs = []
    for k in range(3):
        x = rng.normal(size=(150, 4))
        recs.append(Recording(uid=f"fly{k}", traces=x, behavior=rng.normal(size=(150, 1)), behavior_names=["speed"],
                              labels=["DNa01", "DNa02", "", "MDN"], dt=0.1))
    t = ceneurovae.fit(recs, config={**FAST, "train.epochs": 1})
    assert t.vocabulary.names == ["DNa01", "DNa02", "MDN"] and t.behavior_names == ["speed"]


def test_package_version_is_the_version_module():
    import ceneurovae.version

    assert ceneurovae.__version__ == ceneurovae.version.__version__
