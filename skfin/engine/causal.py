"""What both faces of :class:`skfin.nets.CausalLSTM` share: the treatment column by name,
and the effect of the treatment per window and on average (doubly robust, with a
stationary-bootstrap interval).

The estimators are the well-kept ones: scikit-learn's logistic regression for the
propensity and ``arch``'s stationary bootstrap; the augmented inverse-propensity weighting
that combines them with the net's counterfactual outcomes (Robins, Rotnitzky and Zhao,
1994) is a few lines of numpy, written here.
"""

from __future__ import annotations

import numpy as np
import torch

from skfin import nets
from skfin.engine.data import WindowDataset
from skfin.engine.estimator import check_levels

__all__: list[str] = []


class _TreatedWindows(torch.utils.data.Dataset):
    """The windows of ``dataset`` with the treatment of their last row set to ``value``.

    :meth:`skfin.nets.CausalLSTM.intervene` on every batch, so the engine's own prediction
    path (batches, wrappers, MC dropout) runs on the intervened windows.
    """

    def __init__(self, dataset: WindowDataset, column: int, value: float):
        self.dataset, self.column, self.value = dataset, column, value

    def __len__(self) -> int:
        return len(self.dataset)

    def subset(self, positions) -> _TreatedWindows:
        return _TreatedWindows(self.dataset.subset(positions), self.column, self.value)

    def __getitem__(self, idx):
        x, y = self.dataset[idx]
        if isinstance(x, dict):
            return {**x, "x": nets.CausalLSTM.intervene(x["x"], self.column, self.value)}, y
        return nets.CausalLSTM.intervene(x, self.column, self.value), y


class _CausalEffect:
    """What both faces of :class:`skfin.nets.CausalLSTM` add to a face: the treatment by
    name, and the effect of the treatment per window and on average.

    The average and its interval (see ``effect``'s Notes) are computed here once for both
    faces; a face supplies its windows, their targets, its feature names and its units.
    """

    def _net_kwargs(self) -> dict:
        return {**super()._net_kwargs(), "treatment": self._treatment_index()}

    def _treatment_index(self) -> int:
        """The ``treatment`` column as the net's index: a name's position, an index as given.

        An index stays as given (-1 too), so that a net pretrained on a panel, whose
        columns are not known by name, and the net fine-tuned from it agree.
        """
        names, treatment = self._feature_names(), self.treatment
        if names is None:                     # columns unknown here (a forecaster's panel)
            if isinstance(treatment, str):
                raise ValueError(
                    f"treatment={treatment!r} names a column, but {type(self).__name__} "
                    "does not know the columns of the data it trains on here (pretrain on a "
                    "panel). Give the treatment column's index instead."
                )
            return treatment                  # the net checks the index
        n = len(names)
        if isinstance(treatment, str):
            if treatment not in names:
                raise ValueError(
                    f"treatment={treatment!r} is not a column of {type(self).__name__}'s "
                    f"features {names}. Name one of them, or give the column's index."
                )
            return names.index(treatment)
        if not -n <= treatment < n:
            raise ValueError(
                f"treatment={treatment} is not a feature index: {type(self).__name__} reads "
                f"{n} feature(s) {names}. Use an index from {-n} to {n - 1}, or a column name."
            )
        return treatment

    def _effect(self, dataset, targets, treated: float, control: float, coverage: float,
                n_boot: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-window effects ``[n, H, T]`` and the average, lower and upper bounds ``[3, H, T]``.

        ``targets`` (``[n, H, T]`` in the net's units, or None) are the observed outcomes
        of the windows, for the doubly robust average.
        """
        # imported here: only effect needs them
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        coverage = check_levels(coverage, name="coverage")
        if len(coverage) != 1 or isinstance(n_boot, bool) \
                or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
            raise ValueError(
                f"effect takes one coverage in (0, 1) and n_boot >= 2 bootstrap draws; got "
                f"coverage={coverage!r}, n_boot={n_boot!r}."
            )
        if len(dataset) < 2:
            raise ValueError(
                f"effect needs at least 2 windows to average over; {type(self).__name__} "
                f"got {len(dataset)}. Pass more rows."
            )
        column = self._treatment_index() % len(self._feature_names())
        values = [self._net_value(float(v), column) for v in (treated, control)]
        mu1, mu0 = (self._point(self._forward(_TreatedWindows(dataset, column, v), paths=False))
                    for v in values)                                          # [n, H, T]
        effect = mu1 - mu0
        windows = dataset[torch.arange(len(dataset))][0]
        windows = (windows["x"] if isinstance(windows, dict) else windows).cpu().numpy()
        observed = windows[:, -1, column]                                     # [n]
        is_treated = np.isclose(observed, values[0], rtol=1e-5, atol=1e-5)
        binary = (is_treated | np.isclose(observed, values[1], rtol=1e-5, atol=1e-5)).all()
        scores = effect
        if targets is not None and binary and 0 < is_treated.sum() < len(is_treated):
            # AIPW: the outcome net's effect plus its inverse-propensity-weighted residual
            # (Robins et al., 1994), with the propensity of the history before the treatment
            n, W, F = windows.shape
            history = np.delete(windows.reshape(n, W * F), (W - 1) * F + column, axis=1)
            propensity = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            e = propensity.fit(history, is_treated).predict_proba(history)[:, 1]
            e = np.clip(e, 0.01, 0.99)[:, None, None]
            d = is_treated[:, None, None]
            residual = targets - np.where(d, mu1, mu0)
            scores = effect + (d / e - (1 - d) / (1 - e)) * residual
        scale = self._effect_scale()
        return effect * scale, self._average(scores, coverage[0], n_boot) * scale

    def _average(self, scores: np.ndarray, coverage: float, n_boot: int) -> np.ndarray:
        """Mean over windows and its stationary-bootstrap percentile interval, ``[3, H, T]``.

        Windows overlap and volatility clusters: blocks of at least ``window + horizon - 1``
        windows (Politis and White's length if longer) keep that dependence.
        """
        try:
            from arch.bootstrap import StationaryBootstrap, optimal_block_length
        except ImportError as exc:                         # pragma: no cover
            raise ImportError(
                "effect's bootstrap interval uses the 'arch' package, which is not installed. "
                'Install the data extra with: pip install "skfin[data]"'
            ) from exc
        from sklearn.utils import check_random_state

        flat = scores.reshape(len(scores), -1).astype(np.float64)             # [n, H*T]
        window = getattr(self, "window_", self.window)
        block = max(window + scores.shape[1] - 1,
                    int(np.ceil(optimal_block_length(flat.mean(axis=1))["stationary"].iloc[0])))
        seed = check_random_state(self.random_state)
        bootstrap = StationaryBootstrap(block, flat, seed=seed)
        lower, upper = bootstrap.conf_int(lambda s: s.mean(axis=0), reps=n_boot,
                                          method="percentile", size=coverage)
        return np.stack([flat.mean(axis=0), lower, upper]).reshape(3, *scores.shape[1:])


#: ``effect``'s parameters and the Notes on its average, the same on both faces.
_EFFECT_DOC = """\
        treated, control : float, default=1.0 and 0.0
            The treatment values compared, in the treatment column's units: the effect
            is the outcome with the current treatment at ``treated`` minus the outcome
            with it at ``control``. For a binary (0/1) treatment, the defaults; for a
            continuous one, the effect of moving it from ``control`` to ``treated``.
        coverage : float, default=0.9
            Coverage of the interval of the average effect.
        n_boot : int, default=1000
            Bootstrap draws behind the interval (seeded by ``random_state``)."""

_EFFECT_NOTES = """\
        The per-window effect is the net's counterfactual outcome (its point forecast: the
        mean, or a quantile head's median) with the window's last treatment set to
        ``treated`` minus the one with it set to ``control``, the history (earlier
        treatments included) as observed. The average is the doubly robust (AIPW)
        estimate when the outcomes are known and the observed treatments are all ``control``
        or ``treated`` (both present): the mean of the per-window effects plus the
        inverse-propensity weighted residuals of the observed outcomes, the propensity taken
        from a logistic regression on each window's history (its rows without the current
        treatment), clipped to [0.01, 0.99]. It stays consistent if either the outcome net
        or the propensity model is right (Robins, Rotnitzky and Zhao, 1994). Otherwise (no
        outcomes, or a continuous treatment) it is the mean of the per-window effects, which
        rests on the net alone. The interval is a stationary bootstrap over windows
        (``arch``): it reflects the sampling variation of that mean, not the variation of
        the net's weights (no refit), and the propensity and the net are fitted on the same
        windows (no cross-fitting).

        Either number is causal only under the usual assumptions: no confounder outside
        the window (unconfoundedness), treated and untreated histories alike (overlap),
        and a treatment that does not change the rows before it."""
