"""Purged walk-forward and purged/embargoed k-fold splitters (the sklearn face).

Rows are samples in time order; row ``t`` holds what is known at time ``t`` (its features)
and a target realised over the next ``horizon`` steps, ``t+1 .. t+horizon``: a next-day
return has ``horizon=1``, a ``y`` with one column per step of a 5-day path has
``horizon=5``. Positions count rows, not calendar time.

Definitions follow López de Prado, *Advances in Financial Machine Learning* (2018), ch. 7:

* **purging** removes every training row whose target period overlaps the target period
  of a test row. With targets ``t+1 .. t+horizon`` that is the ``horizon - 1`` rows just
  before a test block and, when training data follows the test block (k-fold), the
  ``horizon - 1`` rows just after it.
* **embargo** additionally removes ``embargo`` rows that *follow* the purged region after
  a test block: their features (lags, rolling statistics) are computed from test-period
  prices, so serial correlation carries test information into training.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import indexable
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _num_samples

from skfin._checks import ParamValidation
from skfin._warnings import warn

__all__ = ["PurgedWalkForward", "PurgedKFold"]


def _warn_groups(splitter, groups) -> None:
    if groups is not None:
        warn(f"The groups parameter is ignored by {type(splitter).__name__}.", UserWarning)


class PurgedWalkForward(ParamValidation, BaseCrossValidator):
    """Walk-forward folds in time order, purged of targets that overlap the test block.

    Each fold tests on a contiguous block of ``test_size`` rows; the blocks tile the end
    of the data as in :class:`~sklearn.model_selection.TimeSeriesSplit`. Each fold trains
    on rows strictly before its test block (all of them, or the last ``max_train_size``),
    minus the ``horizon - 1`` rows whose targets ``t+1 .. t+horizon`` reach into the test
    block's target period, minus ``gap`` further rows.

    Use it wherever scikit-learn takes ``cv=`` (``GridSearchCV``, ``cross_val_score``).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (test blocks), at least 1.
    test_size : int, default=None
        Rows per test block. ``None`` uses ``n_samples // (n_splits + 1)``, like
        ``TimeSeriesSplit``.
    horizon : int, default=1
        Steps each row's target spans: row ``t``'s target is realised over
        ``t+1 .. t+horizon``. ``horizon - 1`` rows are purged before each test block.
    gap : int, default=0
        Extra rows dropped between the purged training rows and the test block. Set
        ``gap = window`` when a model reads ``window`` past rows and you want every test
        row's inputs disjoint from all training data (see Notes); also models a
        publication or execution lag.
    max_train_size : int, default=None
        Keep only the last ``max_train_size`` training rows (a rolling window). ``None``
        expands the training set fold after fold.

    See Also
    --------
    PurgedKFold : k-fold with purging on both sides of the test block and an embargo.
    sklearn.model_selection.TimeSeriesSplit : the same folds, with ``gap`` given directly.
    skfin.model_selection.PurgedExpandingWindowSplitter : the sktime counterpart.

    Notes
    -----
    ``PurgedWalkForward(n_splits, test_size=s, horizon=h, gap=g, max_train_size=m)`` yields
    exactly the folds of ``TimeSeriesSplit(n_splits, test_size=s, gap=h - 1 + g,
    max_train_size=m)``; it exists so that the purge is stated as the target's horizon
    rather than computed by hand, and so that impossible settings fail with the numbers.

    There is no ``embargo`` here: an embargo removes training rows that come *after* a
    test block, and walk-forward never trains on rows after its test block. Features read
    from past rows cannot leak in walk-forward either (a test row reading the ``window``
    rows before it reads the past, as a live forecaster would); ``gap=window`` only makes
    test inputs disjoint from training data, which is conservative, not required.

    Examples
    --------
    Five-day-ahead targets on real S&P 500 returns: four rows before each test block are
    purged.

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import PurgedWalkForward
    >>> r = np.log(load_sp500()["Close"]).diff().dropna()
    >>> cv = PurgedWalkForward(n_splits=3, test_size=250, horizon=5)
    >>> for train, test in cv.split(r):
    ...     print(train[-1], test[0], test[-1])
    4275 4280 4529
    4525 4530 4779
    4775 4780 5029
    """

    _parameter_constraints: dict = {
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "test_size": [Interval(Integral, 1, None, closed="left"), None],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "gap": [Interval(Integral, 0, None, closed="left")],
        "max_train_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, n_splits=5, *, test_size=None, horizon=1, gap=0, max_train_size=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.horizon = horizon
        self.gap = gap
        self.max_train_size = max_train_size

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
        """
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Generate train and test row positions, fold by fold in time order.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Rows in time order; only its length is used.
        y : array-like, default=None
            Ignored, exists for API compatibility.
        groups : array-like, default=None
            Ignored (with a warning), exists for API compatibility.

        Yields
        ------
        train : ndarray of int
            Training row positions, sorted, all before the test block.
        test : ndarray of int
            Test row positions, a contiguous block.

        Raises
        ------
        ValueError
            If the data are too short for ``n_splits``, ``test_size``, ``horizon`` and
            ``gap`` to leave at least one training row in the first fold.
        """
        _warn_groups(self, groups)
        self._validate_params()
        (X,) = indexable(X)
        n_samples = _num_samples(X)
        test_size = self.test_size
        if test_size is None:
            test_size = n_samples // (self.n_splits + 1)
            if test_size < 1:
                raise ValueError(
                    f"{self!r} cannot split n_samples={n_samples}: the default "
                    f"test_size = n_samples // (n_splits + 1) = {test_size}. "
                    f"Use fewer splits (at most {max(n_samples - 1, 0)}) or more rows."
                )
        purge = self.horizon - 1 + self.gap
        needed = self.n_splits * test_size + purge + 1
        if n_samples < needed:
            raise ValueError(
                f"{self!r} needs at least n_splits * test_size + (horizon - 1) + gap + 1 = "
                f"{self.n_splits} * {test_size} + {self.horizon - 1} + {self.gap} + 1 = "
                f"{needed} rows to leave one training row in the first fold, but got "
                f"n_samples={n_samples}. Reduce n_splits, test_size, horizon or gap."
            )
        indices = np.arange(n_samples)
        first_test = n_samples - self.n_splits * test_size
        for test_start in range(first_test, n_samples, test_size):
            train_end = test_start - purge
            train_start = 0
            if self.max_train_size is not None:
                train_start = max(0, train_end - self.max_train_size)
            yield indices[train_start:train_end], indices[test_start : test_start + test_size]


class PurgedKFold(ParamValidation, BaseCrossValidator):
    """K-fold over contiguous blocks in time, purged on both sides and embargoed after.

    The rows are cut into ``n_splits`` contiguous test blocks in time order (as
    :class:`~sklearn.model_selection.KFold` without shuffling). For each test block
    ``[a, b)``, training rows are

    * before the block: rows ``t <= a - horizon`` (targets ``t+1 .. t+horizon`` end before
      the first test target ``a+1`` starts), and
    * after the block: rows ``t >= b - 1 + horizon + embargo`` (the first row whose target
      starts after the last test target ``b - 1 + horizon`` ends, pushed ``embargo`` rows
      further).

    Unlike walk-forward, training data may come after the test block, which is when the
    embargo matters. Use it for hyperparameter search on stationary targets (returns,
    volatility) where using all the data matters more than mimicking live trading.

    Parameters
    ----------
    n_splits : int, default=5
        Number of contiguous test blocks, at least 2.
    horizon : int, default=1
        Steps each row's target spans (``t+1 .. t+horizon``); sets the purge.
    embargo : int, default=0
        Rows dropped from training after the purged region that follows each test block.
        Set it to at least the longest look-back of the features (a ``window`` of past
        rows, a rolling-volatility span) so that no training row's features read the test
        period. López de Prado suggests about 1% of the rows, ``ceil(0.01 * n_samples)``.

    See Also
    --------
    PurgedWalkForward : train strictly before test, as in live use.

    Notes
    -----
    With ``embargo=0`` and ``horizon=1`` this is ``KFold(n_splits)`` without shuffling.
    Training sets have a hole where the test block was: a model that builds windows over
    consecutive training rows (skfin's regressors given 2D ``X``) will read across it, so
    give such models pre-built 3D windows or per-row features.

    References
    ----------
    .. [1] M. López de Prado, *Advances in Financial Machine Learning*, Wiley, 2018,
       sections 7.4.1 (purging) and 7.4.2 (embargo).

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import PurgedKFold
    >>> r = np.log(load_sp500()["Close"]).diff().dropna()
    >>> cv = PurgedKFold(n_splits=5, horizon=5, embargo=20)
    >>> train, test = list(cv.split(r))[2]
    >>> test[0], test[-1]
    (np.int64(2012), np.int64(3017))
    >>> int(train[train < test[0]].max()), int(train[train > test[-1]].min())
    (2007, 3042)
    """

    _parameter_constraints: dict = {
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "embargo": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, n_splits=5, *, horizon=1, embargo=0):
        self.n_splits = n_splits
        self.horizon = horizon
        self.embargo = embargo

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
        """
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Generate train and test row positions, test blocks in time order.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Rows in time order; only its length is used.
        y : array-like, default=None
            Ignored, exists for API compatibility.
        groups : array-like, default=None
            Ignored (with a warning), exists for API compatibility.

        Yields
        ------
        train : ndarray of int
            Training row positions, sorted; before and/or after the test block.
        test : ndarray of int
            Test row positions, a contiguous block.

        Raises
        ------
        ValueError
            If there are fewer rows than folds, or if purging and embargo leave a fold
            without training rows.
        """
        _warn_groups(self, groups)
        self._validate_params()
        (X,) = indexable(X)
        n_samples = _num_samples(X)
        if n_samples < self.n_splits:
            raise ValueError(
                f"{self!r} cannot cut n_samples={n_samples} rows into n_splits="
                f"{self.n_splits} test blocks. Use at most {n_samples} splits."
            )
        sizes = np.full(self.n_splits, n_samples // self.n_splits, dtype=int)
        sizes[: n_samples % self.n_splits] += 1
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        indices = np.arange(n_samples)
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            before_end = a - self.horizon + 1            # rows t <= a - horizon
            after_start = b - 1 + self.horizon + self.embargo
            train = np.concatenate(
                [indices[: max(before_end, 0)], indices[min(after_start, n_samples):]]
            )
            if len(train) == 0:
                raise ValueError(
                    f"{self!r} leaves fold {k} (test rows {a}..{b - 1} of {n_samples}) "
                    f"without training rows: purging horizon - 1 = {self.horizon - 1} rows "
                    f"on each side and embargo={self.embargo} rows after removes the rest. "
                    "Use more splits, a shorter horizon or a smaller embargo."
                )
            yield train, indices[a:b]
