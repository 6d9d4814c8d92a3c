import numpy as np
import pytest

from ceneurovae import Recording
from ceneurovae.errors import RecordingError
from ceneurovae.recording import split_segments


def make(T=50, N=4, D=2, **kw):
    rng = np.random.default_rng(0)
    args = dict(uid="a", traces=rng.normal(size=(T, N)), behavior=rng.normal(size=(T, D)),
                behavior_names=[f"b{i}" for i in range(D)])
    args.update(kw)
    return Recording(**args)


class TestRecording:
    def test_defaults(self):
        rec = make(dt=0.5)
        assert rec.traces.dtype == np.float32 and rec.mask.all()
        assert rec.identity.tolist() == [0, 0, 0, 0] and rec.labels == [""] * 4
        np.testing.assert_allclose(rec.timestamps[:3], [0, 0.5, 1.0])
        assert rec.dt == 0.5 and rec.n_labeled == 0

    def test_dt_from_timestamps(self):
        rec = make(timestamps=np.arange(50) * 0.6 + 10)
        assert rec.dt == pytest.approx(0.6)

    def test_nan_is_masked_and_zeroed(self):
        x = np.ones((50, 4))
        x[3, 1] = np.nan
        x[7, 2] = np.inf
        rec = make(traces=x)
        assert not rec.mask[3, 1] and not rec.mask[7, 2] and rec.mask.sum() == 198
        assert np.isfinite(rec.traces).all()

    def test_behavior_length_mismatch(self):
        with pytest.raises(RecordingError, match=r"behavior must be \(T=50, D\).*got shape \(49, 2\)"):
            make(behavior=np.zeros((49, 2)))

    def test_duplicate_identity(self):
        with pytest.raises(RecordingError, match=r"identities \[3\] are given to more than one neuron"):
            make(identity=[3, 0, 3, 1])

    def test_non_monotonic_timestamps(self):
        ts = np.arange(50, dtype=float)
        ts[10] = 5
        with pytest.raises(RecordingError, match="timestamps must increase; frame 10"):
            make(timestamps=ts)

    def test_with_hidden_keeps_values(self):
        rec = make()
        hidden = rec.with_hidden([1, 2])
        assert not hidden.mask[:, 1:3].any() and hidden.mask[:, [0, 3]].all()
        np.testing.assert_array_equal(hidden.traces, rec.traces)
        assert rec.mask.all()  # the original is untouched

    def test_select_behaviors(self):
        rec = make(D=3)
        sub = rec.select_behaviors(["b2", "b0"])
        np.testing.assert_array_equal(sub.behavior, rec.behavior[:, [2, 0]])
        with pytest.raises(RecordingError, match=r"has no behavior \['pumping'\]"):
            rec.select_behaviors(["pumping"])


def test_split_segments_finds_the_join():
    ts = np.concatenate([np.arange(800) * 0.6, 800 * 0.6 + 30 + np.arange(800) * 0.6])
    assert split_segments(ts) == [(0, 800), (800, 1600)]
    assert split_segments(np.arange(10.0)) == [(0, 10)]
