"""Cross-validation for time series: purged walk-forward and purged/embargoed k-fold.

* :class:`PurgedWalkForward` and :class:`PurgedKFold` are scikit-learn splitters
  (``split(X, y, groups)``, ``get_n_splits``), usable as ``cv=`` anywhere in sklearn.
* :class:`PurgedExpandingWindowSplitter` is the sktime counterpart, usable in
  :func:`sktime.forecasting.model_evaluation.evaluate`; :func:`evaluate` is that function
  with a progress bar over the folds.

What is hand-written, and why: sklearn has no purged or embargoed splitter. Walk-forward
purging is only a gap, so :class:`PurgedWalkForward` yields ``TimeSeriesSplit``'s folds
(tested to be identical) and adds the purge stated as the target's horizon and errors
that name the numbers. :class:`PurgedKFold` has no sklearn counterpart: purging on both
sides of the test block and an embargo after it (López de Prado, 2018, ch. 7). sktime's
``ExpandingWindowSplitter`` already cannot leak for forecasting, so
:class:`PurgedExpandingWindowSplitter` only subclasses it to name a gap.

See ``docs/evaluation.md`` for when sklearn's ``TimeSeriesSplit(gap=...)`` or sktime's
``ExpandingWindowSplitter`` already suffice and when purging and embargo matter.

:func:`backtest` runs several sktime forecasters through the same walk-forward folds and
returns per-fold scores, forecasts and a leaderboard (the engine of ``skfin backtest``),
serially or in parallel on loky, Dask or Ray (``backend=``); :class:`WorkerDiedError` is
what it raises when a worker process dies mid-fold.

:class:`OptunaSearchCV` searches hyperparameters with Optuna, pruning bad trials after
each epoch; :func:`default_search_space` is the registry's space for an estimator's net.
"""

from skfin.model_selection._backtest import BacktestResult, backtest
from skfin.model_selection._parallel import WorkerDiedError
from skfin.model_selection._sktime import PurgedExpandingWindowSplitter, evaluate
from skfin.model_selection._search import OptunaSearchCV, default_search_space
from skfin.model_selection._split import PurgedKFold, PurgedWalkForward

__all__ = ["PurgedWalkForward", "PurgedKFold", "PurgedExpandingWindowSplitter", "backtest",
           "BacktestResult", "WorkerDiedError", "evaluate", "OptunaSearchCV",
           "default_search_space"]
