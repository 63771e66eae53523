"""Panels of series: one global net (sklearn ``groups=``, sktime ``pretrain``), transfer.

Every check runs on the bundled S&P 500 and NASDAQ closes (and VIX), as a quant would
stack tickers: a (ticker, date) MultiIndex, or rows sorted by date with a ticker column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from skfin.datasets import load_nasdaq, load_sp500, load_vix
from skfin.engine.data import TimeOrderedSplit, WindowDataset
from skfin.forecasting import GRUForecaster
from skfin.regressors import GRURegressor

TINY = dict(window=10, hidden_size=8, max_epochs=3, batch_size=64, random_state=0)


def _returns(loader, n):
    r = 100 * np.log(loader()["Close"]).diff().dropna()
    return r.iloc[-n:]


@pytest.fixture(scope="module")
def panel():
    """Daily log returns of two indices, (ticker, date) MultiIndex; y = next day's."""
    r = pd.concat({"SP500": _returns(load_sp500, 400), "NASDAQ": _returns(load_nasdaq, 300)},
                  names=["ticker", "date"])
    y = r.groupby(level=0).shift(-1)
    keep = y.notna()
    return r.to_frame("r")[keep], y[keep]


@pytest.fixture(scope="module")
def fitted(panel):
    X, y = panel
    return GRURegressor(**TINY).fit(X, y)


# -- the dataset and the split ------------------------------------------------------------
def test_a_window_never_reads_the_previous_series():
    sp = torch.tensor(_returns(load_sp500, 50).to_numpy()[:, None], dtype=torch.float32)
    nq = torch.tensor(_returns(load_nasdaq, 50).to_numpy()[:, None], dtype=torch.float32)
    rows = torch.cat([sp, nq])
    starts = torch.tensor([0] * 50 + [50] * 50)
    x, _ = WindowDataset(rows, torch.arange(100), 5, starts=starts)[torch.arange(100)]
    # NASDAQ's k-th window: its rows max(0, k-4)..k, the missing ones repeating its first
    for k in range(5):
        expected = nq[[max(0, k + j - 4) for j in range(5)], 0]
        assert torch.equal(x[50 + k, :, 0], expected)
    # without starts, the same window would read the S&P 500's last rows
    x_flat, _ = WindowDataset(rows, torch.arange(100), 5)[torch.tensor([50])]
    assert torch.equal(x_flat[0, :4, 0], sp[-4:, 0])


def test_each_series_is_validated_on_its_own_tail_after_the_gap():
    split = TimeOrderedSplit(0.25, gap=3)
    starts = np.repeat([0, 1000, 2000], [40, 20, 6])
    train, valid = split.positions(len(starts), starts)
    # series of 40: 10 validated (30..39), 27 trained; of 20: 5 (55..59), 12 (40..51);
    # of 6: 2 would be validated and 6 - 2 - 3 = 1 trained, fewer: all 6 trained
    assert valid.tolist() == [*range(30, 40), *range(55, 60)]
    assert train.tolist() == [*range(27), *range(40, 52), *range(60, 66)]


# -- sklearn face: groups= ------------------------------------------------------------------
def test_a_multiindex_panel_is_fitted_as_its_series(fitted, panel):
    X, y = panel
    assert fitted.n_series_ == 2
    assert sorted(fitted._fit_series) == ["NASDAQ", "SP500"]
    # the same rows sorted by date (tickers interleaved) with groups= give the same fit
    flat = X.reset_index().sort_values(["date", "ticker"], kind="stable")
    other = GRURegressor(**TINY).fit(flat[["r"]], y.loc[pd.MultiIndex.from_frame(
        flat[["ticker", "date"]])].to_numpy(), groups=flat["ticker"])
    np.testing.assert_array_equal(
        other.predict(flat[["r"]], groups=flat["ticker"]),
        fitted.predict(X.loc[pd.MultiIndex.from_frame(flat[["ticker", "date"]])]))


def test_each_series_continues_its_own_fitted_rows(fitted, panel):
    X, _ = panel
    whole = pd.Series(fitted.predict(X), index=X.index)
    last = X.groupby(level=0).tail(1)
    np.testing.assert_allclose(fitted.predict(last), whole.loc[last.index], atol=1e-6)
    # one series alone: the other series' rows change nothing
    sp = X.loc[["SP500"]]
    np.testing.assert_allclose(fitted.predict(sp), whole.loc[sp.index], atol=1e-6)


def test_a_series_not_seen_in_fit_starts_without_context(fitted):
    vix = np.log(load_vix().ffill()).diff().dropna().iloc[-30:] * 100
    X = pd.concat({"VIX": vix}, names=["ticker", "date"]).to_frame("r")
    pred = fitted.predict(X)
    # its first row's window repeats that row only: the same as a window of 10 copies
    first = fitted._point(fitted._forward(WindowDataset(
        torch.tensor(np.repeat(X.to_numpy(np.float32)[:1], 10, axis=0)),
        torch.tensor([9]), 10)))[:, 0, 0]
    np.testing.assert_allclose(pred[0], first[0], atol=1e-6)


def test_panel_intervals_come_back_in_the_rows_order(fitted, panel):
    X, _ = panel
    rows = X.iloc[[5, 450, 6, 451]]                 # S&P 500, NASDAQ, S&P 500, NASDAQ
    band = fitted.predict_interval(rows, coverage=0.9)
    point = fitted.predict(rows)
    assert list(band.index) == list(rows.index)
    one = fitted.predict_interval(rows.iloc[[1]], coverage=0.9)
    np.testing.assert_allclose(band.iloc[[1]].to_numpy(), one.to_numpy(), atol=1e-6)
    assert ((band.iloc[:, 0] < point) & (point < band.iloc[:, 1])).all()


def test_explain_reads_each_series_in_its_own_context(fitted, panel):
    X, _ = panel
    last = X.groupby(level=0).tail(3)               # 3 rows of each ticker, stacked
    ex = fitted.explain(X=last, n_steps=4)
    forecast = dict(zip(ex.outputs["sample"], ex.outputs["forecast"]))
    np.testing.assert_allclose([forecast[label] for label in last.index],
                               fitted.predict(last), atol=1e-5)
    with pytest.raises(ValueError, match="fitted on a panel of 2 series"):
        fitted.explain(X=last.to_numpy(), method=None)


def test_panel_errors_name_the_problem(fitted, panel):
    X, y = panel
    short = pd.concat([X, pd.concat({"VIX": X.loc["SP500"].iloc[:5]}, names=["ticker", "date"])])
    y_short = pd.concat([y, pd.concat({"VIX": y.loc["SP500"].iloc[:5]},
                                      names=["ticker", "date"])])
    with pytest.raises(ValueError, match=r"Series 'VIX' of the panel has 5 rows .* window=10"):
        GRURegressor(**TINY).fit(short, y_short)
    with pytest.raises(ValueError, match=r"fitted on a panel of 2 series \('SP500', 'NASDAQ'\)"):
        fitted.predict(X.to_numpy())
    with pytest.raises(ValueError, match="partial_fit trains on one series"):
        GRURegressor(**TINY).partial_fit(X, y)
    with pytest.raises(ValueError, match=r"one series label per row of X: shape \(10,\)"):
        GRURegressor(**TINY).fit(X.to_numpy()[:10], y.to_numpy()[:10], groups=["a"] * 9)


def test_a_pipeline_keeps_the_panel_after_a_scaler_returns_an_array(fitted, panel):
    from sklearn.pipeline import make_pipeline as sklearn_pipeline
    from sklearn.preprocessing import StandardScaler

    from skfin.pipeline import make_pipeline

    X, y = panel
    pipe = make_pipeline(StandardScaler(), GRURegressor(**TINY)).fit(X, y)
    assert pipe[-1].n_series_ == 2
    # the same as passing each row's ticker by hand
    by_hand = make_pipeline(StandardScaler(), GRURegressor(**TINY)).fit(
        X, y, gruregressor__groups=X.index.get_level_values(0))
    last = X.groupby(level=0).tail(1)
    np.testing.assert_array_equal(pipe.predict(last),
                                  by_hand.predict(last, groups=last.index.get_level_values(0)))
    band = pipe.predict_interval(last, coverage=0.9)
    assert list(band.index) == list(last.index)
    np.testing.assert_allclose(
        band.to_numpy(), by_hand[-1].predict_interval(
            by_hand[:-1].transform(last), groups=last.index.get_level_values(0)).to_numpy())
    # sklearn's own Pipeline hands the net one long series: what skfin's avoids
    plain = sklearn_pipeline(StandardScaler(), GRURegressor(**TINY)).fit(X, y)
    assert getattr(plain[-1], "n_series_", 1) == 1


# -- transfer: freeze ---------------------------------------------------------------------------
def test_freeze_body_fine_tunes_only_the_head(fitted, panel):
    X, y = panel
    model = GRURegressor(**TINY).fit(X, y)
    before = {n: p.detach().clone() for n, p in model.net_.module_.named_parameters()}
    sp = X.loc["SP500"]
    model.set_params(warm_start=True, freeze="body", lr=1e-2)
    model.fit(sp, y.loc["SP500"])
    after = dict(model.net_.module_.named_parameters())
    moved = {n for n in before if not torch.equal(before[n], after[n])}
    assert moved == {"head.proj.weight", "head.proj.bias"}


def test_freeze_errors():
    X = _returns(load_sp500, 200).to_frame("r")
    y = X["r"].shift(-1).ffill()
    with pytest.raises(ValueError, match=r"freeze names 'encoder', which matches no parameter "
                                         r"of GRU\. Its parameter groups are \['head', 'rnn'"):
        GRURegressor(**TINY, freeze="encoder").fit(X, y)
    with pytest.raises(ValueError, match="freeze='all' keeps every weight as it starts"):
        GRURegressor(**TINY, freeze="all").fit(X, y)


# -- sktime face: pretrain ------------------------------------------------------------------
@pytest.fixture(scope="module")
def returns_panel():
    return pd.concat({"SP500": _returns(load_sp500, 400), "NASDAQ": _returns(load_nasdaq, 300)},
                     names=["ticker", "date"]).to_frame("r")


def test_pretrain_then_fit_fine_tunes_a_copy(returns_panel):
    f = GRUForecaster(**TINY).pretrain(returns_panel, fh=[1, 2, 3])
    assert f.state == "pretrained" and f.pretrained_series_ == ["SP500", "NASDAQ"]
    pretrained = {n: p.detach().clone() for n, p in f.pretrained_net_.module_.named_parameters()}
    y = _returns(load_sp500, 150).to_frame("r")
    f.fit(y, fh=[1, 2])
    assert f.predict().shape == (2, 1)
    # fine-tuning moved the weights of net_, not the pretrained ones
    tuned = dict(f.net_.module_.named_parameters())
    assert any(not torch.equal(pretrained[n], tuned[n]) for n in pretrained)
    for n, p in f.pretrained_net_.module_.named_parameters():
        assert torch.equal(p, pretrained[n])


def test_zero_shot_forecasts_with_the_pretrained_weights(returns_panel):
    f = GRUForecaster(**TINY, freeze="all").pretrain(returns_panel, fh=[1, 2, 3])
    y = _returns(load_sp500, 150).to_frame("r")
    f.fit(y, fh=[1, 2, 3])
    for n, p in f.net_.module_.named_parameters():
        assert torch.equal(p, dict(f.pretrained_net_.module_.named_parameters())[n])
    # the forecast is the pretrained net on the last window, scaled by this series' own
    z = (y.to_numpy() - y.to_numpy().mean()) / y.to_numpy().std()
    with torch.no_grad():
        out = f.pretrained_net_.module_(torch.tensor(z[-10:][None], dtype=torch.float32))
    expected = out[0, :, 0, 0].numpy() * y.to_numpy().std() + y.to_numpy().mean()
    np.testing.assert_allclose(f.predict().to_numpy()[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_pretrain_refuses_what_it_cannot_read(returns_panel):
    short = pd.concat([returns_panel, pd.concat(
        {"VIX": returns_panel.loc["SP500"].iloc[:12]}, names=["ticker", "date"])])
    with pytest.raises(ValueError, match=r"Series 'VIX' of the panel has 12 observations, fewer "
                                         r"than window \+ max\(fh\) = 10 \+ 3 = 13"):
        GRUForecaster(**TINY).pretrain(short, fh=[1, 2, 3])
    monthly = _returns(load_sp500, 2000).resample("ME").sum().to_frame("r")
    mixed = pd.concat([returns_panel, pd.concat({"SP500_M": monthly}, names=["ticker", "date"])])
    with pytest.raises(ValueError, match="sampled at different frequencies"):
        GRUForecaster(**TINY).pretrain(mixed, fh=[1, 2, 3])
    with pytest.raises(ValueError, match="pretrain needs fh"):
        GRUForecaster(**TINY).pretrain(returns_panel)
    f = GRUForecaster(**TINY).pretrain(returns_panel, fh=[1, 2, 3])
    two = pd.concat([_returns(load_sp500, 150), _returns(load_nasdaq, 150)], axis=1,
                    keys=["sp", "nq"])
    with pytest.raises(ValueError, match=r"pretrained on 1 target column\(s\)"):
        f.fit(two, fh=[1])
    with pytest.raises(ValueError, match=r"max\(fh\)=5 exceeds the horizon 3"):
        f.fit(_returns(load_sp500, 150).to_frame("r"), fh=[1, 2, 3, 4, 5])


def test_a_panel_model_exports_and_serves_its_windows(fitted, panel, tmp_path):
    pytest.importorskip("onnxruntime", reason="the export extra serves ONNX")
    from skfin.export import windows

    X, _ = panel
    rows = X.iloc[[5, 450, 6]]
    w = windows(fitted, rows)
    # the NASDAQ row's window holds NASDAQ's rows only (its fitted rows before it)
    nasdaq = X.loc["NASDAQ", "r"]
    at = nasdaq.index.get_loc(rows.index[1][1])
    np.testing.assert_array_equal(w[1, :, 0], nasdaq.to_numpy(np.float32)[at - 9:at + 1])
    import onnxruntime as ort

    path = fitted.export(tmp_path / "panel.onnx")
    session = ort.InferenceSession(str(path))
    out = session.run(None, {session.get_inputs()[0].name: w})[0]
    np.testing.assert_allclose(out.reshape(len(rows), -1)[:, 0], fitted.predict(rows),
                               atol=1e-5)


def test_backtest_walks_a_pretrained_forecaster_from_its_pretraining(returns_panel):
    from skfin.model_selection import backtest

    zero_shot = GRUForecaster(**TINY, freeze="all").pretrain(returns_panel, fh=[1, 2])
    y = _returns(load_sp500, 120).reset_index(drop=True).rename("r")
    # freeze="all" fits only from pretrained weights: the walk must start from them
    result = backtest({"zero-shot": zero_shot}, y, fh=2, folds=3, progress=False)
    assert np.isfinite(result.folds["mae"]).all() and len(result.folds) == 3
    X = y.shift(1).bfill().to_frame("lag")
    reading_future = GRUForecaster(**TINY, future_X="all").pretrain(returns_panel, fh=[1, 2])
    with pytest.raises(ValueError, match="pretrained forecaster 'tuned' has future_X='all'"):
        backtest({"tuned": reading_future}, y, X, fh=2, folds=3, progress=False)
