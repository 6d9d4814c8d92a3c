import h5py
import numpy as np
import pytest

from ceneurovae import Recording, Vocabulary
from ceneurovae.errors import DataWarning, FormatError
from ceneurovae.import_data import import_h5
from ceneurovae.io import read_cohort, write_cohort


def cohort(n=3, T=60, N=7):
    rng = np.random.default_rng(1)
    vocab = Vocabulary(["AVAL", "AVAR", "RIS", "SMDDL"])
    recs = {}
    for k in range(n):
        ident = np.array([1, 0, 3, 2, 0, 4, 0])[:N]
        x = rng.normal(size=(T, N))
        x[5, 2] = np.nan
        recs[f"a{k}"] = Recording(
            uid=f"a{k}", traces=x, behavior=rng.normal(size=(T, 3)) * [0.06, 0.5, 1.3],
            behavior_names=["velocity", "head_curvature", "pumping"], identity=ident,
            labels=[vocab[i] if i else "" for i in ident], timestamps=np.arange(T) * 0.6,
            events={"heat": [3]},
        )
    return recs, vocab


def test_round_trip(tmp_path):
    recs, vocab = cohort()
    write_cohort(tmp_path / "c.h5", recs, vocab)
    back, vocab2 = import_h5(tmp_path / "c.h5")
    assert vocab2 == vocab and list(back) == list(recs)
    for uid, rec in recs.items():
        got = back[uid]
        np.testing.assert_allclose(got.traces, rec.traces)
        np.testing.assert_array_equal(got.mask, rec.mask)
        np.testing.assert_allclose(got.behavior, rec.behavior, rtol=1e-6)
        np.testing.assert_array_equal(got.identity, rec.identity)
        assert got.labels == rec.labels and got.events == {"heat": [3]}
        assert got.dt == pytest.approx(0.6)


def test_original_layout_with_normalized_behavior(tmp_path):
    """A file of the original package: no extensions, B divided by B_norm_divisor."""
    rng = np.random.default_rng(2)
    path = tmp_path / "orig.h5"
    div = np.array([0.0603, 0.494, 1.277])
    b_phys = rng.normal(size=(3, 100)) * np.array([[0.06], [0.5], [1.3]])
    with h5py.File(path, "w") as f:
        f["label_name"] = np.array([b"unknown", b"AVAL", b"AVAR"])
        f["B_norm_divisor"] = div
        g = f.create_group("data/2022-06-14-01")
        g["X"] = rng.normal(size=(5, 100))
        g["B"] = b_phys / div[:, None]
        g["I"] = np.array([1, 0, 2, 0, 0])
    with pytest.warns(DataWarning, match="look normalized"):
        datasets, labels = import_h5(path)
    assert len(labels) == 3
    rec = datasets["2022-06-14-01"]
    np.testing.assert_allclose(rec.behavior, b_phys.T, rtol=1e-5)
    assert rec.behavior_names == ["velocity", "head_curvature", "pumping"]
    assert rec.labels == ["AVAL", "", "AVAR", "", ""]


@pytest.mark.parametrize("bad", [0.0, np.nan, -1.0])
def test_a_divisor_that_is_not_positive(tmp_path, bad):
    """Issue 22: a divisor of 0 made every behavior 0, NaN masked every behavior, silently."""
    rng = np.random.default_rng(2)
    path = tmp_path / "orig.h5"
    with h5py.File(path, "w") as f:
        f["label_name"] = np.array([b"unknown", b"AVAL"])
        f["B_norm_divisor"] = np.array([0.0603, bad, 1.277])
        g = f.create_group("data/2022-06-14-01")
        g["X"] = rng.normal(size=(2, 100))
        g["B"] = rng.normal(size=(3, 100))
        g["I"] = np.array([1, 0])
    with pytest.raises(FormatError, match=r"key 'B_norm_divisor'.*divisor 1 is .*must be a positive number"):
        import_h5(path)


def test_missing_key_names_file_and_key(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["label_name"] = np.array([b"unknown"])
        f.create_group("data/x")["X"] = np.zeros((2, 10))
    with pytest.raises(FormatError, match=r"bad\.h5.*key 'data/x/B'"):
        read_cohort(path)


def test_identity_out_of_range(tmp_path):
    recs, vocab = cohort(n=1)
    write_cohort(tmp_path / "c.h5", recs, vocab)
    with h5py.File(tmp_path / "c.h5", "a") as f:
        f["data/a0/I"][0] = 99
    with pytest.raises(FormatError, match=r"identity indices must be in \[0, 5\), found 0\.\.99"):
        read_cohort(tmp_path / "c.h5")


def test_not_hdf5(tmp_path):
    p = tmp_path / "x.h5"
    p.write_text("hello")
    with pytest.raises(FormatError, match=r"x\.h5.*neither HDF5 nor JSON"):
        import_h5(p)
