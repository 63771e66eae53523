"""Fuzz: corrupted real series end in finite, non-crossing output or a typed error that names the problem.

Every registered estimator (both faces) and every transformer gets real S&P 500 data with one
generated corruption (NaN / inf placement, magnitudes beyond float32 or tiny, integer and
object dtypes, shuffled or duplicated dates, too few rows, odd hyperparameters). What must
hold, whatever hypothesis draws:

* the call succeeds, and every prediction is finite with quantiles that never cross; or
* it raises ``ValueError`` / ``TypeError`` whose message matches the corruption (it names
  the column, the value kind, the length, ... not a torch or numpy internals message);
* the caller's data is never mutated.

CI runs a bounded, derandomised number of examples per estimator (``SKFIN_FUZZ_EXAMPLES``,
default 6); set it higher and ``SKFIN_FUZZ_RANDOM=1`` to explore locally.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skfin.datasets import load_sp500
from skfin.engine.callbacks import TrainingDivergedError
from skfin.registry import ARCHITECTURES

EXAMPLES = int(os.environ.get("SKFIN_FUZZ_EXAMPLES", "6"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                derandomize=not os.environ.get("SKFIN_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TINY = dict(max_epochs=1, batch_size=32, random_state=0)
LEVELS = [0.1, 0.5, 0.9]

#: What an error message must mention for each corruption (case-insensitive regex).
NAMES = {
    "nan": r"nan|missing",
    "inf": r"inf|finite",
    "beyond_float32": r"float32|too large|overflow",
    "object": r"numeric|dtype|convert|string|float",
    "few_rows": r"at least|needs|observations|sample|rows|window|empty",
    "window": r"at least|needs|observations|samples|rows|window",
    "shuffled": r"order|sorted|monoton|increasing|index",
    "duplicated": r"duplicate|unique|index",
    "columns": r"feature|column",
    # finite and within float32, but a net cannot learn on raw 1e30s or 1e-30s: refusing
    # is fine if the message says to rescale
    "scale": r"scale|large|small|standardi|diverg|overflow",
}


@pytest.fixture(scope="module")
def market():
    """120 days of real S&P 500 data: returns (%), daily range (%) and tomorrow's return."""
    sp = load_sp500().iloc[-121:]
    r = (100 * np.log(sp["Close"]).diff()).iloc[1:].rename("r")
    rng = (100 * (sp["High"] - sp["Low"]) / sp["Close"]).iloc[1:].rename("range")
    X = pd.concat([r, rng], axis=1).iloc[:-1]
    y = r.shift(-1).iloc[:-1]
    return X, y


corruptions = st.one_of(
    st.tuples(st.just("none"), st.none()),
    st.tuples(st.just("nan"), st.integers(0, 118)),
    st.tuples(st.just("inf"), st.tuples(st.integers(0, 118), st.sampled_from([np.inf, -np.inf]))),
    st.tuples(st.just("beyond_float32"), st.sampled_from([1e39, 1e100, 1e300])),
    st.tuples(st.just("scale"), st.sampled_from([1e-30, 1e-8, 1e8, 1e30])),
    st.tuples(st.just("integer"), st.none()),
    st.tuples(st.just("object"), st.none()),
    st.tuples(st.just("few_rows"), st.integers(0, 4)),
    st.tuples(st.just("window"), st.sampled_from([1, 2, 119, 500])),
    st.tuples(st.just("constant"), st.none()),
)


def _corrupt(kind, arg, frame: pd.DataFrame, target: pd.Series, where: str):
    """The corrupted copies of ``frame`` (X or y as a frame) and ``target``; params to set."""
    X, y, params = frame.copy(), target.copy(), {}
    if kind == "nan":
        (X if where == "X" else y).iloc[arg % len(y)] = np.nan
    elif kind == "inf":
        (X if where == "X" else y).iloc[arg[0] % len(y)] = arg[1]
    elif kind == "beyond_float32":
        X.iloc[len(X) // 2] = arg
    elif kind == "scale":
        X = X * arg
    elif kind == "integer":
        X = (X * 100).round().astype(np.int64)
    elif kind == "object":
        X = X.astype(str)
    elif kind == "few_rows":
        X, y = X.iloc[:arg], y.iloc[:arg]
    elif kind == "window":
        params["window"] = arg
    elif kind == "constant":
        X = X * 0 + 1.0
    return X, y, params


def _check_outcome(call, kind, inputs):
    """Run ``call``; the outcome must be finite output or a typed error naming ``kind``."""
    before = [i.copy() for i in inputs]
    try:
        outputs = call()
    except (ValueError, TypeError, TrainingDivergedError) as err:
        message = str(err)
        assert len(message) > 30, f"terse error for {kind}: {message!r}"
        if kind in NAMES:
            assert re.search(NAMES[kind], message, flags=re.IGNORECASE), (
                f"error for {kind} does not name it: {message!r}")
        else:
            raise AssertionError(f"{kind}: valid input refused: {message}") from err
    else:
        for out in outputs:
            values = np.asarray(out, dtype=np.float64)
            assert np.isfinite(values).all(), f"{kind}: non-finite output"
        quantiles = np.asarray(outputs[-1], dtype=np.float64)          # [n, L]
        assert (np.diff(quantiles, axis=-1) >= 0).all(), f"{kind}: crossing quantiles"
    for old, new in zip(before, inputs):                               # never mutated
        if isinstance(old, pd.DataFrame):
            pd.testing.assert_frame_equal(old, new)
        else:
            pd.testing.assert_series_equal(old, new)


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
@FUZZ
@given(corruption=corruptions, output=st.sampled_from(["point", "quantile", "gaussian"]))
def test_regressor_face(arch, market, corruption, output):
    kind, arg = corruption
    X, y = market
    X, y, params = _corrupt(kind, arg, X, y, where="X")
    params = {**arch.forecaster.get_test_params()[0], **TINY, "output": output, **params}
    params = {k: v for k, v in params.items() if k in arch.regressor().get_params()}
    model = arch.regressor(**params)
    inputs = [X, y]

    def call():
        model.fit(X, y)
        return [model.predict(X.tail(3)),
                model.predict_quantiles(X.tail(3), alpha=LEVELS).to_numpy()]

    _check_outcome(call, kind, inputs)


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
@FUZZ
@given(corruption=st.one_of(corruptions,
                            st.tuples(st.just("shuffled"), st.integers(0, 2**31)),
                            st.tuples(st.just("duplicated"), st.integers(1, 110))),
       output=st.sampled_from(["point", "quantile", "gaussian"]))
def test_forecaster_face(arch, market, corruption, output):
    kind, arg = corruption
    X, _ = market
    y = X["r"]                                                      # 119 daily returns
    frame, _, params = _corrupt(kind, arg, y.to_frame(), y, where="X")
    y = frame["r"]
    if kind == "shuffled":
        y = y.sample(frac=1.0, random_state=arg % 2**31)
    if kind == "duplicated":
        y = pd.concat([y.iloc[:arg], y.iloc[arg - 1:]])
    params = {**arch.forecaster.get_test_params()[0], **TINY, "output": output, **params}
    model = arch.forecaster(**params)
    inputs = [y]

    def call():
        model.fit(y, fh=[1, 2, 3])
        return [model.predict(), model.predict_quantiles(alpha=LEVELS).to_numpy()]

    _check_outcome(call, kind, inputs)


price_corruptions = st.one_of(
    st.tuples(st.just("none"), st.none()),
    st.tuples(st.just("nan"), st.integers(0, 119)),
    st.tuples(st.just("inf"), st.tuples(st.integers(0, 119), st.sampled_from([np.inf, -np.inf]))),
    st.tuples(st.just("nonpositive"), st.tuples(st.integers(0, 119), st.sampled_from([0.0, -5.0]))),
    st.tuples(st.just("beyond_float32"), st.sampled_from([1e39, 1e300])),
    st.tuples(st.just("object"), st.none()),
    st.tuples(st.just("few_rows"), st.integers(0, 3)),
    st.tuples(st.just("shuffled"), st.integers(0, 2**31)),
    st.tuples(st.just("duplicated"), st.integers(1, 110)),
)
NAMES["nonpositive"] = r"positive|zero|negative|log"


def _transformers():
    from skfin.transformations import HARFeatures, LogRatio, Ratio, TechnicalIndicators

    return [Ratio(warmup="drop"), LogRatio(warmup="drop"), LogRatio(standardize=True, warmup="drop"),
            TechnicalIndicators(warmup="drop"),
            HARFeatures(estimator="yang_zhang", warmup="drop")]


@pytest.mark.parametrize("transformer", _transformers(), ids=lambda t: repr(t))
@FUZZ
@given(corruption=price_corruptions)
def test_transformers(transformer, corruption):
    kind, arg = corruption
    ohlcv = load_sp500().iloc[-120:]
    ohlc_input = type(transformer).__name__ in ("TechnicalIndicators", "HARFeatures")
    data = ohlcv if ohlc_input else ohlcv[["Close"]]
    data = data.copy()
    if kind in ("nan", "inf", "nonpositive"):
        row, value = (arg, np.nan) if kind == "nan" else arg
        data.iloc[row % len(data), -1 if "Close" not in data else data.columns.get_loc("Close")] = value
    elif kind == "beyond_float32":
        data.iloc[60] = arg
    elif kind == "object":
        data = data.astype(str)
    elif kind == "few_rows":
        data = data.iloc[:arg]
    elif kind == "shuffled":
        data = data.sample(frac=1.0, random_state=arg % 2**31)
    elif kind == "duplicated":
        data = pd.concat([data.iloc[:arg], data.iloc[arg - 1:]])
    model = transformer.__class__(**transformer.get_params())
    inputs = [data]

    def call():
        out = model.fit_transform(data)
        return [out.to_numpy(np.float64), np.zeros((1, 1))]

    _check_outcome(call, kind, inputs)
