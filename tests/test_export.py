"""Export for serving (skfin.export): every registered net, both faces, both formats.

The served graph takes raw windows and must give what ``predict`` and
``predict_quantiles`` give: max abs difference <= 1e-5 on real S&P 500 log returns (in %),
at several batch sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skfin import export as ex
from skfin.datasets import load_sp500
from skfin.registry import ARCHITECTURES

onnxruntime = pytest.importorskip("onnxruntime", reason="the export extra is not installed")

LEVELS = [0.05, 0.5, 0.95]
TOL = 1e-5
#: Nets that ONNX cannot express (their net declares why: ``_export_unsupported``).
NO_ONNX = {"s4d", "neural_cde"}


@pytest.fixture(scope="module")
def returns():
    r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-260:]
    X = r.iloc[:-1].to_frame("r")
    X["abs_r"] = X["r"].abs()
    return r, X, r.shift(-1).iloc[:-1]


def _tiny(arch, **extra):
    params = {**arch.test_params[0], "max_epochs": 1, "random_state": 0, "device": "cpu",
              **extra}
    if arch.regressor().uncertainty == "mc_dropout":       # BayesianLSTM: export the head
        params["uncertainty"] = "head"
    return params


def _run(path, fmt, inputs):
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path))
        names = [i.name for i in session.get_inputs()]
        return session.run(None, dict(zip(names, inputs)))
    served = torch.jit.load(str(path))
    return [t.numpy() for t in served(*map(torch.as_tensor, inputs))]


def _formats(arch):
    return [f for f in ("torchscript", "onnx") if not (f == "onnx" and arch.name in NO_ONNX)]


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_regressor_export_matches_predict(arch, returns, tmp_path):
    """Quantile head (the interpolation is in the graph) at batch sizes 1, 7 and 200."""
    _, X, y = returns
    model = arch.regressor(**_tiny(arch, output="quantile")).fit(X, y)
    for fmt in _formats(arch):
        path = model.export(tmp_path / f"{arch.name}", fmt, alpha=LEVELS)
        for rows in (X.iloc[-1:], X.iloc[-7:], X.iloc[-200:]):
            point, quantiles = _run(path, fmt, (ex.windows(model, rows),))
            assert point.shape == (len(rows), 1, 1)
            np.testing.assert_allclose(point[:, 0, 0], model.predict(rows), rtol=0, atol=TOL)
            want = model.predict_quantiles(rows, alpha=LEVELS).to_numpy()
            np.testing.assert_allclose(quantiles[:, 0, 0, :], want, rtol=0, atol=TOL)


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_forecaster_export_matches_predict(arch, returns, tmp_path):
    """Point head: the residual quantiles and the forecaster's scaling are in the graph;
    a net that reads time (Neural ODE/CDE) takes ``dt`` as a second input."""
    r, _, _ = returns
    f = arch.forecaster(**_tiny(arch)).fit(r, fh=[1, 2, 3])
    inputs = ex.windows(f)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    for fmt in _formats(arch):
        path = f.export(tmp_path / f"{arch.name}", fmt, alpha=LEVELS)
        point, quantiles = _run(path, fmt, inputs)
        np.testing.assert_allclose(point[0, :, 0], f.predict().to_numpy(), rtol=0, atol=TOL)
        want = f.predict_quantiles(alpha=LEVELS).to_numpy()
        np.testing.assert_allclose(quantiles[0, :, 0, :], want, rtol=0, atol=TOL)
        assert ex.read_metadata(path)["inputs"] == (["x", "dt"] if len(inputs) == 2 else ["x"])


@pytest.mark.parametrize("output, loss", [("gaussian", None), ("point", "qlike"),
                                          ("quantile", "crps")])
def test_heads_and_losses(output, loss, returns, tmp_path):
    """A Gaussian head's z-scores, QLIKE's exp link and floor, on a variance target."""
    from skfin.regressors import MLPRegressor

    _, X, y = returns
    target = y ** 2 if loss == "qlike" else y
    model = MLPRegressor(window=5, hidden_size=8, max_epochs=2, output=output, loss=loss,
                         random_state=0).fit(X, target)
    rows = X.iloc[-30:]
    for fmt in ("onnx", "torchscript"):
        point, quantiles = _run(model.export(tmp_path / "m", fmt, alpha=LEVELS), fmt,
                                (ex.windows(model, rows),))
        np.testing.assert_allclose(point[:, 0, 0], model.predict(rows), rtol=0, atol=TOL)
        np.testing.assert_allclose(quantiles[:, 0, 0, :],
                                   model.predict_quantiles(rows, alpha=LEVELS).to_numpy(),
                                   rtol=0, atol=TOL)
    if loss == "qlike":
        assert (quantiles >= 0).all() and (point > 0).all()


def test_student_t_exports_its_parameters(returns, tmp_path):
    """No t inverse CDF in either format: the graph returns location, scale and df, from
    which scipy gives predict_quantiles' values."""
    from scipy.stats import t

    from skfin.forecasting import GRUForecaster

    r, _, _ = returns
    f = GRUForecaster(window=8, hidden_size=8, max_epochs=2, output="student_t",
                      random_state=0).fit(r, fh=[1, 2])
    path = f.export(tmp_path / "gru", "onnx")
    assert ex.read_metadata(path)["outputs"] == ["point", "params"]
    point, params = _run(path, "onnx", (ex.windows(f),))
    loc, scale, df = (params[0, :, 0, k] for k in range(3))
    np.testing.assert_allclose(point[0, :, 0], f.predict().to_numpy(), atol=TOL)
    q = loc[:, None] + scale[:, None] * t.ppf(np.array(LEVELS)[None], df[:, None])
    np.testing.assert_allclose(q, f.predict_quantiles(alpha=LEVELS).to_numpy(), atol=1e-4)


def test_forecaster_with_past_covariates_and_window_norm(tmp_path):
    """Exogenous columns are scaled by their own loc_/scale_; standardize="window" is inside
    the net. Prices in levels: the tolerance is relative to the forecast's scale."""
    from skfin.datasets import load_vix
    from skfin.forecasting import TCNForecaster

    close = load_sp500()["Close"].iloc[-300:]
    vix = load_vix().reindex(close.index).ffill().bfill().to_frame("vix")
    f = TCNForecaster(window=10, channels=4, num_blocks=2, max_epochs=1, future_X=None,
                      standardize="window", random_state=0).fit(close, X=vix, fh=[1, 2])
    path = f.export(tmp_path / "tcn", "onnx", alpha=LEVELS)
    x = ex.windows(f)
    assert x.shape == (1, 10, 2)
    np.testing.assert_array_equal(x[0, :, 1], vix["vix"].iloc[-10:].to_numpy(np.float32))
    point, _ = _run(path, "onnx", (x,))
    want = f.predict().to_numpy()
    np.testing.assert_allclose(point[0, :, 0], want, rtol=1e-6 * 10, atol=0)
    assert ex.read_metadata(path)["features"] == ["Close", "vix"]


def test_metadata_and_suffixes(returns, tmp_path):
    from skfin.regressors import LSTMRegressor

    _, X, y = returns
    model = LSTMRegressor(window=6, hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    onnx_path = model.export(tmp_path / "lstm", "onnx")
    ts_path = model.export(tmp_path / "lstm", "torchscript")
    assert (onnx_path.suffix, ts_path.suffix) == (".onnx", ".pt")
    for path in (onnx_path, ts_path):
        meta = ex.read_metadata(path)
        assert meta["window"] == 6 and meta["horizon"] == 1
        assert meta["features"] == ["r", "abs_r"] and meta["targets"] == [y.name or "y"]
        from skfin.nets import DEFAULT_QUANTILES
        assert meta["levels"] == pytest.approx(list(DEFAULT_QUANTILES))


def test_bad_input(returns, tmp_path):
    from skfin.forecasting import LSTMForecaster
    from skfin.regressors import LSTMRegressor, NeuralODERegressor, S4DRegressor

    r, X, y = returns
    with pytest.raises(NotFittedError, match="not fitted yet: call fit before export"):
        LSTMRegressor().export(tmp_path / "m")
    with pytest.raises(NotFittedError):
        ex.windows(LSTMForecaster(), None)
    model = LSTMRegressor(window=5, hidden_size=4, max_epochs=1, dropout=0.2,
                          random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="format='tflite' is not one of"):
        model.export(tmp_path / "m", "tflite")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.export(tmp_path / "absent" / "m")
    with pytest.raises(ex.ExportError, match="mc_dropout"):
        model.set_params(uncertainty="mc_dropout").export(tmp_path / "m")
    s4d = S4DRegressor(window=5, d_model=4, d_state=2, num_layers=1, max_epochs=1).fit(X, y)
    with pytest.raises(ex.ExportError, match="complex .* format='torchscript'"):
        s4d.export(tmp_path / "s4d", "onnx")
    ode = NeuralODERegressor(window=4, hidden_size=4, ode_hidden=4, solver="dopri5",
                             max_epochs=1).fit(X.iloc[-60:], y.iloc[-60:])
    with pytest.raises(ex.ExportError, match="'dopri5' is adaptive"):
        ode.export(tmp_path / "ode", "torchscript")
    future = LSTMForecaster(window=5, hidden_size=4, max_epochs=1).fit(
        r.iloc[:-1], X=X[["abs_r"]], fh=[1])
    with pytest.raises(ex.ExportError, match="known-future covariates"):
        future.export(tmp_path / "f")
    with pytest.raises(ValueError, match="not written by skfin.export"):
        path = tmp_path / "plain.onnx"
        import onnx
        from onnx import helper
        node = helper.make_node("Identity", ["a"], ["b"])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("a", 1, [1])],
                                  [helper.make_tensor_value_info("b", 1, [1])])
        onnx.save(helper.make_model(graph), path)
        ex.read_metadata(path)


def test_a_failed_write_leaves_the_old_file(returns, tmp_path, monkeypatch):
    from skfin.regressors import MLPRegressor

    _, X, y = returns
    model = MLPRegressor(window=5, max_epochs=1, random_state=0).fit(X, y)
    path = model.export(tmp_path / "mlp.pt", "torchscript")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch.jit, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        model.set_params(max_epochs=2).fit(X, y).export(path, "torchscript")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.pt"]          # no temp file left


def test_check_catches_a_graph_that_does_not_reproduce_the_net(returns, tmp_path,
                                                               monkeypatch):
    """The built-in check is real: a graph traced with a frozen data-dependent value fails."""
    from skfin.regressors import MLPRegressor

    _, X, y = returns
    model = MLPRegressor(window=5, max_epochs=1, random_state=0).fit(X, y)
    original = ex._Served.forward

    def frozen(self, x, dt=None):                  # a python float: traced as a constant
        point, quantiles = original(self, x, dt)
        return point + float(x[0, -1, 0]), quantiles
    monkeypatch.setattr(ex._Served, "forward", frozen)
    with pytest.raises(ex.ExportError, match="does not reproduce"):
        model.export(tmp_path / "mlp", "torchscript")
