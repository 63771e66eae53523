"""skfin's warnings name the user's line, whichever path led into skfin (skfin/_warnings.py).

A fixed ``stacklevel`` named skfin's own files on some paths: the validation-split warning
of a regressor's ``fit`` pointed at ``skfin/engine/estimator.py``. Real S&P 500 returns.
"""

import os
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfin._warnings import LIBRARIES, user_stacklevel, warn
from skfin.datasets import load_sp500
from skfin.regressors import LSTMRegressor

CLOSE = load_sp500()["Close"]
R = (100 * np.log(CLOSE).diff().dropna()).to_numpy()


def tiny(**params):
    return LSTMRegressor(window=20, hidden_size=4, max_epochs=1, batch_size=16, device="cpu",
                         random_state=0, **params)


def lagged(n):
    """Yesterday's and the day before's returns as features, today's as the target."""
    r = R[-n - 2:]
    return np.column_stack([r[1:-1], r[:-2]]), r[2:]


def named_lines(record):
    """The lines of this file that the recorded validation-split warnings name."""
    places = {(w.filename, w.lineno) for w in record if "valid_fraction" in str(w.message)}
    with open(__file__) as source:
        text = source.read().splitlines()
    return [text[n - 1] if name == __file__ else f"{name}:{n}" for name, n in sorted(places)]


def test_a_fit_warns_at_the_users_fit_not_inside_the_engine():
    # 60 rows (one sample each), window 20: a 20% tail of 12 after a gap of 20 leaves 28
    X, y = lagged(60)
    with pytest.warns(UserWarning, match=r"^valid_fraction=0\.2: a validation tail") as rec:
        tiny().fit(X, y)
    # the engine asks the split three times; each time the warning names this file
    assert {w.filename for w in rec if "valid_fraction" in str(w.message)} == {__file__}
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")            # Python's default: once per line
        tiny().fit(X, y)
    # one line, so a user sees it once (three places inside skfin showed it three times)
    assert sum("valid_fraction" in str(w.message) for w in shown) == 1


def test_through_scikit_learn_the_warning_names_the_users_call():
    # Pipeline and cross_val_score's frames are skipped too: the line is the one below
    X, y = lagged(110)                              # folds of 55 rows: 24 left to train
    with pytest.warns(UserWarning, match=r"^valid_fraction=0\.2") as rec:
        cross_val_score(make_pipeline(StandardScaler(), tiny()), X, y, cv=2)
    assert named_lines(rec) == ["        cross_val_score(make_pipeline(StandardScaler(), "
                                "tiny()), X, y, cv=2)"]


def test_through_sktime_evaluate_the_warning_names_the_users_call():
    # walk-forward with sktime: the forecaster's short-data warning names evaluate's line
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.split import ExpandingWindowSplitter

    from skfin.forecasting import LSTMForecaster

    r = pd.Series(R[-80:])
    f = LSTMForecaster(window=20, hidden_size=4, max_epochs=1, device="cpu", random_state=0)
    cv = ExpandingWindowSplitter(initial_window=60, step_length=10, fh=[1])
    with pytest.warns(UserWarning, match=r"^valid_fraction=0\.2") as rec:
        evaluate(f, cv, r)
    assert named_lines(rec) == ["        evaluate(f, cv, r)"]


def test_a_renamed_parameter_warns_at_the_construction():
    with pytest.warns(FutureWarning, match="'n_samples' was renamed 'n_draws'") as rec:
        LSTMRegressor(n_samples=20)
    assert rec[0].filename == __file__


def test_user_stacklevel_counts_the_frames_up_to_the_first_outside_the_libraries():
    def caller():                                   # this file: the user's frame itself
        return user_stacklevel()

    assert caller() == 2                            # warnings.warn(stacklevel=2) in warn

    def direct():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn("a test warning", RuntimeWarning)
        return caught

    caught = direct()
    assert [(w.category, w.filename) for w in caught] == [(RuntimeWarning, __file__)]
    assert LIBRARIES[0] == "skfin"


def test_with_no_user_frame_the_outermost_frame_is_named(monkeypatch):
    # every frame in a library (as in a worker that only runs library code): the stack's
    # outermost frame is named, rather than Python's "sys:1" for a level past the stack
    import skfin._warnings as module

    monkeypatch.setattr(module, "_library_paths", lambda: (os.sep,))   # every file
    frame = sys._getframe()
    while frame.f_back is not None:
        frame = frame.f_back
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn("from library code only", UserWarning)
    assert [w.filename for w in caught] == [frame.f_code.co_filename]


def test_every_warning_of_skfin_goes_through_warn():
    # a bare warnings.warn with a fixed stacklevel points into skfin on some call path
    import pathlib

    import skfin

    root = pathlib.Path(skfin.__file__).parent
    bare = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*.py"))
            if path.name != "_warnings.py"
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if "warnings.warn(" in line and not line.lstrip().startswith((">>>", "..."))]
    assert bare == [], f"use skfin._warnings.warn instead of warnings.warn in {bare}"
