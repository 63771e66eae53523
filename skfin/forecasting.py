"""The sktime face: one thin forecaster class per architecture.

Forecasters are direct multi-horizon: one net predicts steps ``1..max(fh)`` at once from the
last ``window`` observations of ``y`` (and of the exogenous ``X``, if given). ``y`` and ``X``
are standardised with statistics of the data seen in ``fit`` (and only that), and forecasts
are mapped back. ``update`` fine-tunes the current weights for ``update_epochs`` epochs, so a
walk-forward ``evaluate(..., strategy="update")`` costs a fraction of refitting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sktime.forecasting.base import BaseForecaster

from skfin import nets
from skfin.engine.data import WindowDataset
from skfin.engine.device import resolve_device
from skfin.engine.estimator import NeuralEstimatorMixin, as_numeric, check_finite, fill_doc

__all__ = ["NeuralForecaster", "MLPForecaster", "LSTMForecaster", "GRUForecaster",
           "AttentionLSTMForecaster", "ResidualLSTMForecaster", "CNNLSTMForecaster",
           "TCNForecaster", "WaveNetForecaster"]

def _check_input(data, what: str) -> None:
    """Name the first NaN, unsorted or duplicated time stamp before sktime converts ``data``."""
    if not isinstance(data, (pd.Series, pd.DataFrame)):
        return
    index = data.index
    if index.has_duplicates:
        first = index[index.duplicated()][0]
        raise ValueError(
            f"{what} has duplicated time stamps (first: {first}). Keep one row per time "
            f"stamp, e.g. {what}[~{what}.index.duplicated()]."
        )
    if not index.is_monotonic_increasing:
        pos = int(np.argmax(np.asarray(index[1:] < index[:-1]))) + 1
        raise ValueError(
            f"{what}'s time index is not sorted: {index[pos]} at position {pos} comes after "
            f"{index[pos - 1]}. Sort it with {what}.sort_index()."
        )
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    numeric = frame.select_dtypes("number")
    check_finite(numeric.to_numpy(np.float64), what, list(numeric.columns), index)


class NeuralForecaster(NeuralEstimatorMixin, BaseForecaster):
    """Base of the sktime face. Subclasses set ``_net`` and list their parameters."""

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "python_dependencies": ["torch", "skorch"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:categorical_in_X": False,
        "capability:update": True,
        "capability:random_state": True,
        "requires-fh-in-fit": True,
        "X-y-must-have-same-index": True,
    }
    # The forecaster keeps the data that update() fine-tunes on itself (``_seen``), so
    # sktime need not store a second copy (and stops warning about its default changing).
    _config = {"remember_data": False}

    def _init(self, params: dict) -> None:
        """Store the constructor's arguments unchanged, then run sktime's set-up."""
        for name, value in params.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)
        BaseForecaster.__init__(self)
        # sktime sets these only when remember_data is on at construction; a user (or
        # sktime's own tests) may switch it on later with set_config.
        self._y, self._X = None, None

    def fit(self, y, X=None, fh=None):
        _check_input(y, "y")
        _check_input(X, "X")
        return super().fit(y, X=X, fh=fh)

    def update(self, y, X=None, update_params=True):
        _check_input(y, "y")
        _check_input(X, "X")
        return super().update(y, X=X, update_params=update_params)

    # -- data ------------------------------------------------------------------------
    def _frame(self, y: pd.DataFrame, X: pd.DataFrame | None) -> np.ndarray:
        """Check and standardise ``[y | X]`` into one float32 array ``[n_rows, n_features]``."""
        parts = [as_numeric(y, "y")]
        if X is not None:
            parts.append(as_numeric(X, "X"))
        values = np.concatenate([p.to_numpy(np.float64) for p in parts], axis=1)
        names = [*y.columns, *([] if X is None else X.columns)]
        check_finite(values, "y" if X is None else "y or X", names, y.index)
        return ((values - self.loc_) / self.scale_).astype(np.float32)

    def _training_set(self) -> WindowDataset:
        y, X = self._seen
        values = self._frame(y, X)
        device = self.net_.device if hasattr(self, "net_") else resolve_device(self.device)
        min_rows = self.window + self.horizon_
        if len(values) < min_rows:
            raise ValueError(
                f"{type(self).__name__} needs at least window + max(fh) = {self.window} + "
                f"{self.horizon_} = {min_rows} observations to build one training sample; "
                f"got {len(values)}. Pass a longer series, or lower window or fh."
            )
        series = torch.as_tensor(values, device=device)
        return WindowDataset(
            series, torch.arange(self.window - 1, len(values) - self.horizon_, device=device),
            self.window, targets=series[:, :self.n_targets_],
            target_offsets=torch.arange(1, self.horizon_ + 1, device=device))

    def _steps(self, fh) -> np.ndarray:
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        if (steps < 1).any():
            raise ValueError(
                f"{type(self).__name__} forecasts out of sample only; fh has in-sample "
                f"steps {steps[steps < 1].tolist()}. Use fh >= 1."
            )
        if steps.max() > self.horizon_:
            raise ValueError(
                f"max(fh)={steps.max()} exceeds horizon={self.horizon_} of the fitted "
                f"{type(self).__name__}. Use a smaller fh or refit with a longer fh."
            )
        return steps

    # -- sktime hooks ----------------------------------------------------------------
    def _fit(self, y, X=None, fh=None):
        self._check_hyperparams()
        if isinstance(y.index, pd.DatetimeIndex) and self.cutoff.freq is None:
            raise ValueError(
                "y has a DatetimeIndex without a frequency (trading days are irregular), so "
                "forecasts cannot be placed in time. Count in trading days with "
                "y.reset_index(drop=True), or give the index a frequency (e.g. "
                "y.asfreq('B').ffill())."
            )
        self.horizon_ = int(np.max(fh.to_relative(self.cutoff)))
        self._steps(fh)
        self.n_targets_ = y.shape[1]
        self.n_exog_ = 0 if X is None else X.shape[1]
        self._seen = (y, X)
        both = y if X is None else pd.concat([y, X], axis=1)
        values = as_numeric(both, "y" if X is None else "y or X").to_numpy(np.float64)
        check_finite(values, "y" if X is None else "y or X", list(both.columns), y.index)
        if self.scale:
            std = values.std(axis=0)
            self.loc_, self.scale_ = values.mean(axis=0), np.where(std > 0, std, 1.0)
        else:
            self.loc_, self.scale_ = np.zeros(values.shape[1]), np.ones(values.shape[1])
        self._train(self._training_set(), n_features=values.shape[1], window=self.window,
                    horizon=self.horizon_, n_targets=self.n_targets_)
        return self

    def _update(self, y, X=None, update_params=True):
        old_y, old_X = self._seen
        if old_X is not None and X is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with exogenous X; pass the X that goes "
                "with the new y to update as well."
            )
        self._seen = (y.combine_first(old_y), None if old_X is None else X.combine_first(old_X))
        if update_params and self.update_epochs > 0:
            self._finetune(self._training_set(), self.update_epochs)
        return self

    def _last_window(self) -> WindowDataset:
        y, X = self._seen
        values = self._frame(y.iloc[-self.window:], None if X is None else X.iloc[-self.window:])
        if len(values) < self.window:
            raise ValueError(
                f"{type(self).__name__} needs the last window={self.window} observations to "
                f"forecast; only {len(values)} are known."
            )
        features = torch.as_tensor(values, device=self.net_.device)
        return WindowDataset(features, torch.tensor([self.window - 1], device=features.device),
                             self.window)

    def _unscale(self, values: np.ndarray) -> np.ndarray:
        """Map standardised target values ``[..., T, ...]`` (T on axis 1) back to levels."""
        shape = (1, self.n_targets_) + (1,) * (values.ndim - 2)
        return (values * self.scale_[:self.n_targets_].reshape(shape)
                + self.loc_[:self.n_targets_].reshape(shape))

    def _predict(self, fh, X=None):
        steps = self._steps(fh)
        point = self._point(self._forward(self._last_window()))[0]            # [H, T]
        values = self._unscale(point[steps - 1])                              # [len(fh), T]
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(values, index=index, columns=self._seen[0].columns)

    def _predict_quantiles(self, fh, X=None, alpha=None):
        steps = self._steps(fh)
        levels = [float(a) for a in alpha]
        q = self._quantiles(self._forward(self._last_window()), levels)[0]    # [H, T, L]
        q = self._unscale(q[steps - 1])                                       # [len(fh), T, L]
        columns = pd.MultiIndex.from_product([list(self._seen[0].columns), alpha])
        return pd.DataFrame(q.reshape(len(steps), -1), index=fh.to_absolute_index(self.cutoff),
                            columns=columns)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two tiny configurations that keep sktime's conformance suite to seconds."""
        return [
            {"window": 5, "hidden_size": 8, "num_layers": 1, "max_epochs": 2, "batch_size": 16,
             "random_state": 0},
            {"window": 3, "hidden_size": 4, "max_epochs": 1, "output": "quantile",
             "valid_fraction": 0.0, "update_epochs": 1, "random_state": 1},
        ]


@fill_doc
class MLPForecaster(NeuralForecaster):
    """Feed-forward net on the flattened window, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    hidden_size : int, default=32
    num_layers : int, default=1
    dropout : float, default=0.1
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import MLPForecaster
    >>> y = load_airline()
    >>> f = MLPForecaster(window=24, max_epochs=20, random_state=0).fit(y, fh=[1, 2, 3])
    >>> f.predict().shape
    (3,)
    """

    _net = nets.MLP

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 output="point", quantiles=None, loss=None, max_epochs=100, batch_size=64,
                 lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision=False, device="auto",
                 random_state=None, verbose=0, update_epochs=2, scale=True):
        self._init(locals())


@fill_doc
class LSTMForecaster(NeuralForecaster):
    """LSTM over the past window, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {recurrent_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import LSTMForecaster
    >>> close = load_sp500()["Close"].reset_index(drop=True)   # count in trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = LSTMForecaster(window=20, hidden_size=16, max_epochs=2, output="quantile",
    ...                    random_state=0).fit(r, fh=[1, 2, 3, 4, 5])
    >>> f.predict_interval(coverage=0.9).shape
    (5, 2)
    """

    _net = nets.LSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 bidirectional=False, attention=False, output="point", quantiles=None,
                 loss=None, max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2,
                 grad_clip=1.0, lr_schedule=None, valid_fraction=0.2, patience=10,
                 mixed_precision=False, device="auto", random_state=None, verbose=0,
                 update_epochs=2, scale=True):
        self._init(locals())


@fill_doc
class GRUForecaster(NeuralForecaster):
    """GRU over the past window, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {recurrent_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_vix
    >>> from skfin.forecasting import GRUForecaster
    >>> vix = load_vix().ffill().reset_index(drop=True)
    >>> f = GRUForecaster(window=20, max_epochs=2, random_state=0).fit(vix, fh=[1, 5, 10])
    >>> f.predict().index.tolist()
    [1305, 1309, 1314]
    """

    _net = nets.GRU

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 bidirectional=False, attention=False, output="point", quantiles=None,
                 loss=None, max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2,
                 grad_clip=1.0, lr_schedule=None, valid_fraction=0.2, patience=10,
                 mixed_precision=False, device="auto", random_state=None, verbose=0,
                 update_epochs=2, scale=True):
        self._init(locals())


@fill_doc
class AttentionLSTMForecaster(NeuralForecaster):
    """LSTM with additive (Bahdanau) attention pooling, as an sktime forecaster.

    The same net as ``LSTMForecaster(attention=True)``, as an architecture of its own;
    ``net_.module_.explain(x)["attention"]`` gives the weights over the window.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    hidden_size : int, default=32
    num_layers : int, default=1
    dropout : float, default=0.1
        Between stacked layers and before the head.
    bidirectional : bool, default=False
        Read the window both ways (it holds only the past, so nothing leaks).
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import AttentionLSTMForecaster
    >>> y = load_airline()
    >>> f = AttentionLSTMForecaster(window=24, max_epochs=2, random_state=0).fit(y, fh=[1, 2, 3])
    >>> f.predict().shape
    (3,)
    """

    _net = nets.AttentionLSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 bidirectional=False, output="point", quantiles=None, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision=False,
                 device="auto", random_state=None, verbose=0, update_epochs=2, scale=True):
        self._init(locals())


@fill_doc
class ResidualLSTMForecaster(NeuralForecaster):
    """Stacked LSTMs with residual connections and layer normalisation, as a forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    hidden_size : int, default=32
        Width of the input projection and of every LSTM layer.
    num_layers : int, default=2
        Residual LSTM layers, each ``h <- LayerNorm(h + Dropout(LSTM(h)))``.
    dropout : float, default=0.1
        On each layer's output before the residual sum, and before the head.
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import ResidualLSTMForecaster
    >>> close = load_sp500()["Close"].reset_index(drop=True)   # count in trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = ResidualLSTMForecaster(window=20, max_epochs=2, output="student_t",
    ...                            random_state=0).fit(r, fh=[1, 2, 3])
    >>> f.predict_interval(coverage=[0.8, 0.95]).shape
    (3, 4)
    """

    _net = nets.ResidualLSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=2, dropout=0.1,
                 output="point", quantiles=None, loss=None, max_epochs=100, batch_size=64,
                 lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision=False, device="auto",
                 random_state=None, verbose=0, update_epochs=2, scale=True):
        self._init(locals())


@fill_doc
class CNNLSTMForecaster(NeuralForecaster):
    """Causal Conv1d + BatchNorm + ReLU + max-pooling front end feeding an LSTM, as a forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads. Any window works: pooling blocks are
        aligned to the window's end.
    channels : int, default=64
        Filters of the convolution.
    kernel_size : int, default=3
        Steps each filter reads (the step and ``kernel_size - 1`` before it).
    pool_size : int, default=1
        Steps max-pooled into one before the LSTM (the LSTM then reads
        ``ceil(window / pool_size)`` steps); 1, the default, keeps every step. Pooling
        shortens long windows but mixes the newest step with the ``pool_size - 1`` before
        it, which costs accuracy when the latest observation carries the signal.
    hidden_size : int, default=32
        Width of the LSTM.
    num_layers : int, default=1
        Stacked LSTM layers.
    dropout : float, default=0.1
        Between stacked LSTM layers and before the head.
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_vix
    >>> from skfin.forecasting import CNNLSTMForecaster
    >>> vix = load_vix().ffill().reset_index(drop=True)
    >>> f = CNNLSTMForecaster(window=30, max_epochs=2, random_state=0).fit(vix, fh=[1, 2, 3, 4, 5])
    >>> f.predict().shape
    (5,)
    """

    _net = nets.CNNLSTM

    def __init__(self, *, window=32, channels=64, kernel_size=3, pool_size=1, hidden_size=32,
                 num_layers=1, dropout=0.1, output="point", quantiles=None, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision=False,
                 device="auto", random_state=None, verbose=0, update_epochs=2, scale=True):
        self._init(locals())


@fill_doc
class TCNForecaster(NeuralForecaster):
    """Temporal convolutional network (Bai et al., 2018), as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads. A window longer than the receptive field,
        ``1 + 2 (kernel_size - 1)(2^num_blocks - 1)`` steps, warns at fit: the extra
        observations cannot change the forecast.
    hidden_size : int, default=16
        Channels of every residual block.
    kernel_size : int, default=3
    num_blocks : int, default=4
        Residual blocks of two causal convolutions each; block ``i`` has dilation ``2^i``.
    dropout : float, default=0.1
        After each convolution and before the head.
    weight_norm : bool, default=True
        Weight-normalise the convolutions.
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import TCNForecaster
    >>> close = load_sp500()["Close"].reset_index(drop=True)   # count in trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = TCNForecaster(window=60, max_epochs=2, output="quantile",
    ...                   random_state=0).fit(r, fh=[1, 2, 3, 4, 5])
    >>> f.predict_quantiles(alpha=[0.05, 0.5, 0.95]).shape
    (5, 3)
    """

    _net = nets.TCN

    def __init__(self, *, window=32, hidden_size=16, kernel_size=3, num_blocks=4, dropout=0.1,
                 weight_norm=True, output="point", quantiles=None, loss=None, max_epochs=100,
                 batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision=False, device="auto",
                 random_state=None, verbose=0, update_epochs=2, scale=True):
        self._init(locals())

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two tiny configurations on windows of 5 and 3, within the receptive field."""
        return [
            {"window": 5, "hidden_size": 8, "kernel_size": 2, "num_blocks": 2, "max_epochs": 2,
             "batch_size": 16, "random_state": 0},
            {"window": 3, "hidden_size": 4, "num_blocks": 1, "weight_norm": False,
             "max_epochs": 1, "output": "quantile", "valid_fraction": 0.0, "update_epochs": 1,
             "random_state": 1},
        ]


@fill_doc
class WaveNetForecaster(NeuralForecaster):
    """WaveNet-style gated dilated causal convolutions, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads. A window longer than the receptive field,
        ``1 + num_cycles (kernel_size - 1)(2^num_layers - 1)`` steps, warns at fit.
    hidden_size : int, default=16
        Channels of the residual and skip paths.
    kernel_size : int, default=2
    num_layers : int, default=5
        Gated layers per dilation cycle; layer ``i`` has dilation ``2^i``.
    num_cycles : int, default=2
        Repetitions of the dilation cycle.
    dropout : float, default=0.1
        Before the head.
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import WaveNetForecaster
    >>> y = load_airline()
    >>> f = WaveNetForecaster(window=24, num_layers=4, max_epochs=2,
    ...                       random_state=0).fit(y, fh=[1, 2, 3])
    >>> f.predict().shape
    (3,)
    """

    _net = nets.WaveNet

    def __init__(self, *, window=32, hidden_size=16, kernel_size=2, num_layers=5, num_cycles=2,
                 dropout=0.1, output="point", quantiles=None, loss=None, max_epochs=100,
                 batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision=False, device="auto",
                 random_state=None, verbose=0, update_epochs=2, scale=True):
        self._init(locals())

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two tiny configurations on windows of 5 and 3, within the receptive field."""
        return [
            {"window": 5, "hidden_size": 8, "num_layers": 2, "num_cycles": 1, "max_epochs": 2,
             "batch_size": 16, "random_state": 0},
            {"window": 3, "hidden_size": 4, "kernel_size": 3, "num_layers": 1, "num_cycles": 1,
             "max_epochs": 1, "output": "quantile", "valid_fraction": 0.0, "update_epochs": 1,
             "random_state": 1},
        ]
