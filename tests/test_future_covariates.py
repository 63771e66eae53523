"""Known-future covariates on the sktime face of every architecture (``future_X``).

Data: the last 400 S&P 500 daily log returns (%) with their real trading dates; the
known-future covariates are the calendar of those dates (weekday, trading days left in the
month), the past-only one is the VIX close of the same day.
"""

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500, load_vix
from skfin.registry import ARCHITECTURES

TINY = dict(max_epochs=2, batch_size=32, valid_fraction=0.0, random_state=0)
FH = [1, 2, 3]


@pytest.fixture(scope="module")
def market():
    close = load_sp500()["Close"].iloc[-401:]
    r = (100 * np.log(close).diff()).iloc[1:].rename("r")
    days = r.index
    left = pd.Series(1, index=days).groupby(days.to_period("M")).cumcount(ascending=False)
    vix = load_vix().reindex(days).ffill()
    X = pd.DataFrame({"dow": days.dayofweek.astype(float), "left_in_month": left.astype(float),
                      "vix": vix.to_numpy()}, index=days)
    return r, X


def _tiny(arch):
    """The registry's small test configuration of a forecaster, trained briefly."""
    params = {**arch.forecaster.get_test_params()[0], **TINY}
    return arch.forecaster(**params)


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_every_forecaster_reads_future_X_and_never_ignores_it(arch, market):
    r, X = market
    X = X[["dow", "left_in_month"]]
    f = _tiny(arch).fit(r.iloc[:300], X=X.iloc[:300], fh=FH)
    assert f.n_future_ == 2
    future = X.iloc[300:303]
    base = f.predict(X=future)
    moved = f.predict(X=future.assign(dow=future["dow"].iloc[::-1].to_numpy() + 1.0))
    assert np.isfinite(base).all() and not np.allclose(base, moved)   # future X is read ...
    with pytest.raises(ValueError, match="known-future covariates"):
        f.predict()                                                   # ... and required
    # Rows past the horizon, and the fitted weights, never depend on later X.
    later = pd.concat([future, X.iloc[303:310] * 100.0])
    pd.testing.assert_frame_equal(f.predict(X=later).to_frame() if isinstance(base, pd.Series)
                                  else f.predict(X=later),
                                  base.to_frame() if isinstance(base, pd.Series) else base)


def test_future_X_none_is_past_only_and_said_by_the_tags(market):
    r, X = market
    arch = next(a for a in ARCHITECTURES if a.name == "lstm")
    f = _tiny(arch).set_params(future_X=None).fit(r.iloc[:300], X=X.iloc[:300], fh=FH)
    assert f.get_tag("capability:non_contiguous_X") is True and f.n_future_ == 0
    assert type(f.net_.module_).__name__ == "LSTM"                  # nothing to wrap
    pd.testing.assert_series_equal(f.predict(), f.predict(X=X.iloc[300:303] * 100.0))


def test_future_X_names_the_known_columns(market):
    r, X = market
    arch = next(a for a in ARCHITECTURES if a.name == "tcn")
    f = _tiny(arch).set_params(future_X=["dow"]).fit(r.iloc[:300], X=X.iloc[:300], fh=FH)
    assert f.future_columns_ == ["dow"] and f.n_future_ == 1
    assert f.net_.module_.n_future == 1
    calendar_only = X.iloc[300:303][["dow"]]                      # VIX is not known ahead
    assert f.predict(X=calendar_only).shape == (3,)
    with pytest.raises(ValueError, match=r"future_X names columns \['holiday'\]"):
        _tiny(arch).set_params(future_X=["holiday"]).fit(r.iloc[:300], X=X.iloc[:300], fh=FH)
