"""Purged splitters: exact messages and the boundaries around them (issue 17, mutation
testing): the fewest rows each setting allows and one row fewer. Real S&P 500 returns,
truncated.
"""

import re

import numpy as np
import pytest

from skfin.datasets import load_sp500
from skfin.model_selection import PurgedKFold, PurgedWalkForward

R = np.log(load_sp500()["Close"]).diff().dropna()


def test_walk_forward_default_test_size_needs_one_row_per_block():
    cv = PurgedWalkForward(20)
    folds = list(cv.split(R.iloc[:21]))                 # 21 // 21 = 1 row per block
    assert [test.tolist() for _, test in folds] == [[k] for k in range(1, 21)]
    np.testing.assert_array_equal(folds[0][0], [0])
    with pytest.raises(ValueError, match=re.escape(
            f"{cv!r} cannot split n_samples=20: the default test_size = n_samples // "
            "(n_splits + 1) = 0. Use fewer splits (at most 19) or more rows.")):
        list(cv.split(R.iloc[:20]))


def test_walk_forward_fewest_rows_leave_one_training_row():
    cv = PurgedWalkForward(4, test_size=250, horizon=5, gap=2)
    folds = list(cv.split(R.iloc[:1007]))               # 4 * 250 + 4 + 2 + 1
    np.testing.assert_array_equal(folds[0][0], [0])
    np.testing.assert_array_equal(folds[0][1], np.arange(7, 257))
    with pytest.raises(ValueError, match=re.escape(
            f"{cv!r} needs at least n_splits * test_size + (horizon - 1) + gap + 1 = "
            "4 * 250 + 4 + 2 + 1 = 1007 rows to leave one training row in the first fold, "
            "but got n_samples=1006. Reduce n_splits, test_size, horizon or gap.")):
        list(cv.split(R.iloc[:1006]))


def test_kfold_fewest_rows_and_the_messages():
    cv = PurgedKFold(5)
    folds = list(cv.split(R.iloc[:5]))                  # one row per block
    assert [test.tolist() for _, test in folds] == [[0], [1], [2], [3], [4]]
    with pytest.raises(ValueError, match=re.escape(
            f"{cv!r} cannot cut n_samples=4 rows into n_splits=5 test blocks. Use at most 4 "
            "splits.")):
        list(cv.split(R.iloc[:4]))
    cv = PurgedKFold(2, horizon=3, embargo=1)
    with pytest.raises(ValueError, match=re.escape(
            f"{cv!r} leaves fold 0 (test rows 0..2 of 5) without training rows: purging "
            "horizon - 1 = 2 rows on each side and embargo=1 rows after removes the rest. "
            "Use more splits, a shorter horizon or a smaller embargo.")):
        list(cv.split(R.iloc[:5]))


@pytest.mark.parametrize("cv", [PurgedWalkForward(2), PurgedKFold(2)],
                         ids=lambda cv: type(cv).__name__)
def test_ignored_groups_warning_names_the_splitter(cv):
    with pytest.warns(UserWarning) as record:
        list(cv.split(R.iloc[:300], groups=np.zeros(300)))
    assert str(record[0].message) == (
        f"The groups parameter is ignored by {type(cv).__name__}.")


def test_defaults_are_five_folds():
    for cv in (PurgedWalkForward(), PurgedKFold()):
        assert cv.get_n_splits() == 5 and len(list(cv.split(R.iloc[:600]))) == 5
    cv = PurgedWalkForward()
    with pytest.raises(ValueError, match=re.escape(
            f"{cv!r} cannot split n_samples=0: the default test_size = n_samples // "
            "(n_splits + 1) = 0. Use fewer splits (at most 0) or more rows.")):
        list(cv.split(R.iloc[:0]))
