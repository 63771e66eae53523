"""save / load (skfin.persistence) for every registered architecture, both faces and the
conformal wrappers; pickle and joblib; bad files; and the saved-model fixture that keeps
old files loadable (tests/data/saved_models, written by tests/data/make_saved_models.py)."""

import json
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

import skfin
from skfin import persistence
from skfin.datasets import load_sp500
from skfin.forecasting import LSTMForecaster, TCNForecaster
from skfin.persistence import FormatVersionError, ModelFileError
from skfin.registry import ARCHITECTURES, tiny_params
from skfin.regressors import GRURegressor, LSTMRegressor
from skfin.uncertainty import ConformalForecaster, ConformalRegressor

FIXTURES = Path(__file__).parent / "data" / "saved_models"
TRAIN = dict(max_epochs=1, batch_size=32, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def returns():
    """S&P 500 daily log returns in percent, the last 160 trading days of the bundle."""
    close = load_sp500()["Close"]
    return 100 * np.log(close).diff().dropna().iloc[-160:]


@pytest.fixture(scope="module")
def rows(returns):
    """Today's return and its absolute value -> tomorrow's return."""
    X = pd.DataFrame({"r": returns, "abs_r": returns.abs()}).iloc[:-1]
    return X, returns.shift(-1).iloc[:-1]


def _same_predictions(a, b, X):
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    pd.testing.assert_frame_equal(a.predict_interval(X, coverage=[0.5, 0.9]),
                                  b.predict_interval(X, coverage=[0.5, 0.9]))
    pd.testing.assert_frame_equal(a.predict_quantiles(X, alpha=[0.1, 0.5, 0.9]),
                                  b.predict_quantiles(X, alpha=[0.1, 0.5, 0.9]))


def _same_forecasts(a, b):
    pd.testing.assert_frame_equal(pd.DataFrame(a.predict()), pd.DataFrame(b.predict()))
    pd.testing.assert_frame_equal(a.predict_interval(coverage=[0.5, 0.9]),
                                  b.predict_interval(coverage=[0.5, 0.9]))
    pd.testing.assert_frame_equal(a.predict_quantiles(alpha=[0.1, 0.5, 0.9]),
                                  b.predict_quantiles(alpha=[0.1, 0.5, 0.9]))


# -- every architecture, both faces ---------------------------------------------------
@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_regressor_round_trip(arch, rows, tmp_path):
    X, y = rows
    model = arch.regressor(**tiny_params(arch.regressor)[0], **TRAIN).fit(X, y)
    path = model.save(tmp_path / "model")
    assert path == tmp_path / "model.zip"
    loaded = skfin.load(path)
    assert type(loaded) is arch.regressor
    assert loaded.get_params() == model.get_params()
    _same_predictions(model, loaded, X.tail(30))
    assert isinstance(arch.regressor.load(path), arch.regressor)


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_forecaster_round_trip(arch, returns, tmp_path):
    f = arch.forecaster(**tiny_params(arch.forecaster)[0], output="quantile", **TRAIN)
    f.fit(returns, fh=[1, 2, 3])
    loaded = arch.forecaster.load(f.save(tmp_path / "f.zip"))
    assert type(loaded) is arch.forecaster
    _same_forecasts(f, loaded)
    assert loaded.cutoff.equals(f.cutoff)


def test_point_forecaster_with_exogenous_round_trip(returns, tmp_path):
    X = returns.abs().rename("abs_r").to_frame()
    f = LSTMForecaster(window=5, hidden_size=4, future_X=None, **TRAIN)
    f.fit(returns, X=X, fh=[1, 2])
    loaded = skfin.load(f.save(tmp_path / "f.zip"))
    _same_forecasts(f, loaded)


def test_panel_forecaster_round_trip(tmp_path):
    """A panel (instance x time): sktime's per-instance forecasters and its vectorised data."""
    from skfin.datasets import load_nasdaq

    series = {name: (100 * np.log(load()["Close"]).diff()).dropna().iloc[-80:]
              for name, load in (("sp500", load_sp500), ("nasdaq", load_nasdaq))}
    y = pd.concat({k: v.reset_index(drop=True) for k, v in series.items()},
                  names=["instance", "time"]).to_frame("r").sort_index()
    f = LSTMForecaster(window=5, hidden_size=4, **TRAIN).fit(y, fh=[1, 2])
    loaded = skfin.load(f.save(tmp_path / "panel.zip"))
    _same_forecasts(f, loaded)


def test_loaded_forecaster_updates_like_the_original(returns, tmp_path):
    """The optimizer's state and the history are saved: update() continues identically."""
    f = LSTMForecaster(window=5, hidden_size=4, update_epochs=2, **TRAIN)
    f.fit(returns.iloc[:-10], fh=[1, 2])
    loaded = skfin.load(f.save(tmp_path / "f.zip"))
    f.update(returns.iloc[-10:])
    loaded.update(returns.iloc[-10:])
    pd.testing.assert_frame_equal(pd.DataFrame(f.predict()), pd.DataFrame(loaded.predict()))
    assert len(loaded.net_.history) == len(f.net_.history)


def test_loaded_regressor_continues_training_like_the_original(rows, tmp_path):
    X, y = rows
    model = GRURegressor(window=5, hidden_size=4, **TRAIN).fit(X.iloc[:-20], y.iloc[:-20])
    loaded = skfin.load(model.save(tmp_path / "m.zip"))
    model.partial_fit(X.iloc[-20:], y.iloc[-20:])
    loaded.partial_fit(X.iloc[-20:], y.iloc[-20:])
    np.testing.assert_array_equal(model.predict(X), loaded.predict(X))


def test_loaded_regressor_warm_starts_like_the_original(rows, tmp_path):
    X, y = rows
    model = LSTMRegressor(window=5, hidden_size=4, warm_start=True, **TRAIN).fit(X, y)
    loaded = skfin.load(model.save(tmp_path / "m.zip"))
    model.fit(X, y)
    loaded.fit(X, y)
    assert len(loaded.net_.history) == len(model.net_.history) == 2
    np.testing.assert_array_equal(model.predict(X), loaded.predict(X))


def test_parameters_of_every_kind_round_trip(rows, tmp_path):
    """Array quantiles, a RandomState, and the clone of a loaded estimator."""
    from sklearn.base import clone

    X, y = rows
    model = GRURegressor(window=5, hidden_size=4, output="quantile",
                         quantiles=np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]),
                         **{**TRAIN, "random_state": np.random.RandomState(3)}).fit(X, y)
    loaded = skfin.load(model.save(tmp_path / "m.zip"))
    np.testing.assert_array_equal(loaded.quantiles, model.quantiles)
    assert isinstance(loaded.random_state, np.random.RandomState)
    _same_predictions(model, loaded, X.tail(10))
    assert clone(loaded).get_params()["hidden_size"] == 4
    assert "load" in skfin.__all__ and skfin.load is persistence.load


def test_mc_dropout_round_trip(rows, tmp_path):
    X, y = rows
    model = LSTMRegressor(window=5, hidden_size=4, dropout=0.2, uncertainty="mc_dropout",
                          n_draws=5, output="gaussian", **TRAIN).fit(X, y)
    _same_predictions(model, skfin.load(model.save(tmp_path / "m.zip")), X.tail(10))


# -- meta-estimators -----------------------------------------------------------------
def test_conformal_forecaster_round_trip(returns, tmp_path):
    c = ConformalForecaster(TCNForecaster(**tiny_params(TCNForecaster)[0], **TRAIN),
                            calibration_size=20).fit(returns, fh=[1, 2])
    before = c.predict_interval(coverage=0.9)                 # ACI state is saved too
    loaded = ConformalForecaster.load(c.save(tmp_path / "c.zip"))
    pd.testing.assert_frame_equal(loaded.predict_interval(coverage=0.9), before)
    pd.testing.assert_frame_equal(loaded.predict_interval(coverage=[0.8, 0.95]),
                                  c.predict_interval(coverage=[0.8, 0.95]))


@pytest.mark.parametrize("inner", [GRURegressor(window=5, hidden_size=4, **TRAIN), Ridge()],
                         ids=["GRURegressor", "Ridge"])
def test_conformal_regressor_round_trip(inner, rows, tmp_path):
    X, y = rows
    model = ConformalRegressor(inner, method="aci", calibration_size=30).fit(X, y)
    loaded = ConformalRegressor.load(model.save(tmp_path / "c.zip"))
    np.testing.assert_array_equal(loaded.scores_, model.scores_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    pd.testing.assert_frame_equal(loaded.predict_interval(X, coverage=0.9),
                                  model.predict_interval(X, coverage=0.9))


def test_pipeline_round_trip(tmp_path):
    """A fitted feature pipeline in front of a net saves with skfin.persistence.save."""
    from sklearn.preprocessing import StandardScaler

    from skfin.pipeline import make_pipeline
    from skfin.transformations import TechnicalIndicators

    ohlcv = load_sp500().iloc[-300:]
    y = (100 * np.log(ohlcv["Close"]).diff()).shift(-1).iloc[:-1]
    pipe = make_pipeline(TechnicalIndicators(), StandardScaler(),
                         LSTMRegressor(window=5, hidden_size=4, **TRAIN))
    pipe.fit(ohlcv.iloc[:-1], y)
    loaded = skfin.load(persistence.save(pipe, tmp_path / "pipe.zip"))
    _same_predictions(pipe, loaded, ohlcv.tail(5))


def test_sktime_load_opens_skfin_files(returns, tmp_path):
    from sktime.base import load as sktime_load

    f = LSTMForecaster(window=5, hidden_size=4, **TRAIN).fit(returns, fh=[1, 2])
    f.save(str(tmp_path / "f"))
    _same_forecasts(f, sktime_load(str(tmp_path / "f")))
    serial = f.save()                                         # sktime's in-memory pickle
    _same_forecasts(f, sktime_load(serial))


# -- pickle and joblib (scikit-learn's convention) ------------------------------------
def test_pickle_and_joblib_keep_working(rows, returns, tmp_path):
    X, y = rows
    model = LSTMRegressor(window=5, hidden_size=4, **TRAIN).fit(X, y)
    f = TCNForecaster(**tiny_params(TCNForecaster)[0], **TRAIN).fit(returns, fh=[1, 2])
    for est, check in ((model, lambda a, b: _same_predictions(a, b, X.tail(20))),
                       (f, _same_forecasts)):
        check(est, pickle.loads(pickle.dumps(est)))
        joblib.dump(est, tmp_path / "est.joblib")
        check(est, joblib.load(tmp_path / "est.joblib"))


# -- devices -------------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_model_saved_for_cuda_loads_on_cpu(rows, tmp_path):
    X, y = rows
    model = LSTMRegressor(window=5, hidden_size=4, **TRAIN).fit(X, y)
    # as if fitted on a GPU machine (set_params(device=...) would move the net, and refuses
    # a device this machine lacks)
    model.device = "cuda"
    path = model.save(tmp_path / "m.zip")
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = skfin.load(path)
    assert loaded.device == "cuda" and str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert str(skfin.load(path, device="cpu").net_.device) == "cpu"     # no warning asked


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_model_fitted_on_cuda_loads_on_cpu(rows, tmp_path):
    X, y = rows
    model = LSTMRegressor(window=5, hidden_size=4, **{**TRAIN, "device": "cuda"}).fit(X, y)
    loaded = skfin.load(model.save(tmp_path / "m.zip"), device="cpu")
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-4, atol=1e-5)


# -- writing -------------------------------------------------------------------------
def test_save_is_atomic(rows, tmp_path, monkeypatch):
    X, y = rows
    model = GRURegressor(window=5, hidden_size=4, **TRAIN).fit(X, y)
    path = model.save(tmp_path / "m.zip")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.zip"]     # no temporary file left


def test_file_holds_what_the_format_says(rows, tmp_path):
    X, y = rows
    model = GRURegressor(window=5, hidden_size=4, **TRAIN).fit(X, y)
    with zipfile.ZipFile(model.save(tmp_path / "m.zip")) as archive:
        assert sorted(archive.namelist()) == ["skfin.json", "weights.safetensors"]
        manifest = json.loads(archive.read("skfin.json"))
        tensors = load_tensors(archive.read("weights.safetensors"))
    assert manifest["format_version"] == persistence.FORMAT_VERSION
    assert manifest["class"] == "skfin.regressors:GRURegressor"
    assert {"skfin", "torch", "scikit-learn", "sktime"} <= set(manifest["versions"])
    assert manifest["estimator"]["params"]["hidden_size"] == 4
    fitted = manifest["estimator"]["fitted"]
    assert fitted["window_"] == 5 and fitted["feature_names_in_"]["values"] == ["r", "abs_r"]
    assert any(k.startswith("net_/module/") for k in tensors)
    assert "_calibration/value" in tensors                   # the residuals


# -- bad input -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(rows, tmp_path_factory):
    X, y = rows
    model = GRURegressor(window=5, hidden_size=4, **TRAIN).fit(X, y)
    return model.save(tmp_path_factory.mktemp("saved") / "m.zip")


def _rewrite(source, target, **members):
    """Copy the archive ``source`` to ``target`` with some members replaced (None: dropped)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = members.get(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return target


def test_saving_an_unfitted_estimator_raises(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted yet.*Call fit before save"):
        LSTMRegressor().save(tmp_path / "m.zip")
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LSTMForecaster().save(tmp_path / "f.zip")
    assert not list(tmp_path.iterdir())


def test_an_attribute_without_encoder_is_refused_by_name(rows, tmp_path):
    X, y = rows
    model = GRURegressor(window=5, hidden_size=4, **TRAIN).fit(X, y)
    model.lock_ = object()
    with pytest.raises(TypeError, match="Cannot save 'lock_' of type builtins.object"):
        model.save(tmp_path / "m.zip")
    assert not list(tmp_path.iterdir())


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No skfin model file"):
        skfin.load(tmp_path / "nothing.zip")


def test_a_file_that_is_not_a_model(tmp_path):
    csv = tmp_path / "prices.csv"
    load_sp500().head().to_csv(csv)
    with pytest.raises(ModelFileError, match="not a zip archive, or it is truncated"):
        skfin.load(csv)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("prices.csv", csv.read_text())
    with pytest.raises(ModelFileError, match="not a skfin model .it has no skfin.json"):
        skfin.load(other)


def test_a_joblib_file_is_refused_not_unpickled(rows, tmp_path):
    X, y = rows
    path = tmp_path / "model.joblib"
    joblib.dump(GRURegressor(window=5, hidden_size=4, **TRAIN).fit(X, y), path)
    with pytest.raises(ModelFileError, match="joblib.load, and only from a trusted source"
                       "|not a zip archive"):
        skfin.load(path)


def test_truncated_file(saved, tmp_path):
    data = saved.read_bytes()
    for size in (len(data) // 2, len(data) - 30, 10):
        cut = tmp_path / "cut.zip"
        cut.write_bytes(data[:size])
        with pytest.raises(ModelFileError, match="truncated or corrupted"):
            skfin.load(cut)


def test_corrupted_weights(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        weights = bytearray(archive.read("weights.safetensors"))
    weights[len(weights) // 2] ^= 0xFF                           # one flipped byte: CRC
    data = bytearray(saved.read_bytes())
    bad = _rewrite(saved, tmp_path / "bad.zip", **{"weights.safetensors": bytes(weights)})
    raw = bytearray(bad.read_bytes())
    start = raw.index(b"weights.safetensors") + 60
    raw[start] ^= 0xFF                                           # and a flipped byte on disk
    (tmp_path / "flipped.zip").write_bytes(bytes(raw))
    with pytest.raises(ModelFileError):
        skfin.load(tmp_path / "flipped.zip")
    garbage = _rewrite(saved, tmp_path / "garbage.zip", **{"weights.safetensors": b"\x00" * 64})
    with pytest.raises(ModelFileError, match="weights.safetensors is corrupted"):
        skfin.load(garbage)
    assert data                                                   # the original is untouched


def test_missing_weights(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        tensors = load_tensors(archive.read("weights.safetensors"))
    key = next(k for k in tensors if k.startswith("net_/module/"))
    del tensors[key]
    bad = _rewrite(saved, tmp_path / "bad.zip", **{"weights.safetensors": save_tensors(tensors)})
    with pytest.raises(ModelFileError, match=f"has no entry '{key}'.*incomplete"):
        skfin.load(bad)
    none = _rewrite(saved, tmp_path / "none.zip", **{"weights.safetensors": None})
    with pytest.raises(ModelFileError, match="has no weights.safetensors entry"):
        skfin.load(none)


def test_a_newer_format_names_the_versions(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("skfin.json"))
    manifest["format_version"] = persistence.FORMAT_VERSION + 1
    manifest["versions"]["skfin"] = "9.0"
    newer = _rewrite(saved, tmp_path / "newer.zip", **{"skfin.json": json.dumps(manifest)})
    with pytest.raises(FormatVersionError, match=(
            rf"saved by skfin 9.0 in model format {persistence.FORMAT_VERSION + 1}, but this "
            rf"is skfin {skfin.__version__}, which reads formats up to "
            rf"{persistence.FORMAT_VERSION}. Upgrade skfin")):
        skfin.load(newer)


def test_classes_outside_the_allow_list_are_never_imported(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("skfin.json"))
    for evil in ("os:system", "subprocess:Popen", "builtins:eval"):
        manifest["class"] = manifest["estimator"]["class"] = evil
        bad = _rewrite(saved, tmp_path / "evil.zip", **{"skfin.json": json.dumps(manifest)})
        with pytest.raises(ModelFileError, match="refuses to import"):
            skfin.load(bad)
    manifest["estimator"]["class"] = "sklearn.utils:Bunch"           # allowed package, no estimator
    bad = _rewrite(saved, tmp_path / "bunch.zip", **{"skfin.json": json.dumps(manifest)})
    with pytest.raises(ModelFileError, match="not a scikit-learn or sktime estimator"):
        skfin.load(bad)


class _Booby:
    """Unpickling this creates the file ``marker``: the proof that something was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_loading_never_unpickles(returns, tmp_path):
    f = LSTMForecaster(window=5, hidden_size=4, **TRAIN).fit(returns, fh=[1, 2])
    path = f.save(tmp_path / "f.zip")
    marker = tmp_path / "unpickled"
    trap = _rewrite(path, tmp_path / "trap.zip", _metadata=pickle.dumps(_Booby(marker)))
    _same_forecasts(f, skfin.load(trap))
    assert not marker.exists()


def test_broken_manifest(saved, tmp_path):
    bad = _rewrite(saved, tmp_path / "bad.zip", **{"skfin.json": b"{not json"})
    with pytest.raises(ModelFileError, match="unreadable skfin.json"):
        skfin.load(bad)


def test_class_load_checks_the_class(saved):
    with pytest.raises(TypeError, match="holds a GRURegressor, not a LSTMRegressor"):
        LSTMRegressor.load(saved)
    with pytest.raises(TypeError, match="holds a GRURegressor, not a ConformalRegressor"):
        ConformalRegressor.load(saved)


# -- files saved by earlier versions -------------------------------------------------
def _fixtures():
    return sorted(FIXTURES.glob("*.zip"))


def test_fixture_exists():
    assert len(_fixtures()) >= 3, "run tests/data/make_saved_models.py"


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: p.stem)
def test_saved_models_still_load(path):
    """Models saved by an earlier skfin load and predict as they did when saved.

    When this fails after a format change, bump FORMAT_VERSION and teach ``load`` to read
    the old layout; never regenerate these files to make the test pass.
    """
    expected = json.loads(path.with_suffix(".json").read_text())
    assert path.stat().st_size < 32_000                       # tiny fixtures
    model = skfin.load(path)
    assert f"{type(model).__module__}:{type(model).__qualname__}" == expected["class"]
    if expected["face"] == "regressor":
        X = pd.DataFrame(expected["X"]["values"], columns=expected["X"]["columns"],
                         index=pd.DatetimeIndex(expected["X"]["index"]))
        got = {"predict": model.predict(X),
               "predict_interval": model.predict_interval(X, coverage=0.9).to_numpy()}
    else:
        got = {"predict": np.asarray(model.predict()),
               "predict_interval": model.predict_interval(coverage=0.9).to_numpy()}
        assert [str(d) for d in model.predict_interval(coverage=0.9).index] == expected["index"]
    for name, values in got.items():
        np.testing.assert_allclose(np.asarray(values, dtype=float).ravel(),
                                   np.asarray(expected[name], dtype=float).ravel(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def test_deploying_guide_runs(tmp_path, monkeypatch):
    """docs/deploying.md's Python blocks run as written, in order, on real data."""
    import re
    import warnings

    guide = Path(__file__).resolve().parents[1] / "docs" / "deploying.md"
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 5, "docs/deploying.md lost Python blocks"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for number, block in enumerate(blocks, start=1):
            exec(compile(block, f"deploying.md (python block {number})", "exec"), namespace)


def test_a_path_valued_parameter_round_trips(tmp_path):
    """``checkpoint_dir=Path(...)`` (any path-like parameter) is saved and comes back a Path."""
    from pathlib import Path

    from skfin.regressors import MLPRegressor

    r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-120:]
    X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
    model = MLPRegressor(window=4, max_epochs=1, random_state=0,
                         checkpoint_dir=tmp_path / "ckpt").fit(X, y)
    loaded = skfin.load(model.save(tmp_path / "m.zip"))
    assert loaded.checkpoint_dir == tmp_path / "ckpt"
    assert isinstance(loaded.checkpoint_dir, Path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_loading_onto_a_device_this_machine_lacks_names_the_device(tmp_path):
    from skfin.regressors import MLPRegressor

    r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-200:]
    model = MLPRegressor(window=5, max_epochs=1, random_state=0).fit(
        r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1])
    path = model.save(tmp_path / "mlp")
    with pytest.raises(ValueError, match="cuda") as info:
        skfin.load(path, device="cuda")
    assert "corrupted" not in str(info.value)
