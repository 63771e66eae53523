"""Known-future and static covariates for every net of the contract, in one place.

Past covariates need nothing special: they are extra channels of the window
``x: [B, window, n_features]`` that every net reads. Covariates known *ahead* (the weekday
of each forecast day, a scheduled FOMC or earnings date, an options expiry) and *static*
covariates (one vector per series of a panel: sector, exchange, asset class) are not rows of
the past window, and most architectures (LSTM, N-BEATS, PatchTST, ...) have no input for
them. :class:`Covariates` gives them one without touching the nets:

* the wrapped net forecasts from the past window as usual: ``params = net(x)``, ``[B, H, T, P]``;
* a small MLP reads the known future ``x_future: [B, H, n_future]`` (flattened), the static
  covariates ``x_static: [B, n_static]`` and the last observed row ``x[:, -1]`` (so that an
  effect can depend on the current state, e.g. on volatility), and returns, per forecast
  step and target, a shift ``a`` and a positive gain ``g``;
* the head's own affine map (:meth:`skfin.nets.heads._Head.denormalise`, the one RevIN uses)
  applies them: point values and quantiles become ``g * params + a``; a distribution's
  location becomes ``g * loc + a`` and its scale ``g * scale``. So a scheduled event can move
  the forecast *and* widen its interval, and every head keeps its constraints by
  construction (quantiles still ordered, scales still positive, degrees of freedom kept).

The MLP's last layer starts at zero, so an untrained wrapper is exactly the wrapped net
(``a = 0, g = 1``), and training moves away from it only as far as the covariates help.
The gain is ``exp(3 tanh(s / 3))``, within (0.05, 20): smooth near 1, bounded so a wild
covariate value cannot blow the scale up.

Nets that read covariates natively (:class:`skfin.nets.TFT`, whose decoder runs over the
known future) are not wrapped; the engine decides, from the net's signature
(:func:`reads_covariates`). This module is written here because no well-kept library offers
covariate conditioning for arbitrary torch nets with constrained output heads (Darts and
neuralforecast build it into each model).

Examples
--------
>>> import torch
>>> from skfin.datasets import load_sp500
>>> from skfin.nets import LSTM
>>> sp = load_sp500().iloc[-46:]
>>> r = torch.tensor(sp["Close"].pct_change().to_numpy()[1:] * 100, dtype=torch.float32)
>>> dow = torch.tensor(sp.index.dayofweek.to_numpy()[1:], dtype=torch.float32)
>>> x = r[:40].view(2, 20, 1)                                        # two real windows
>>> x_future = torch.stack([dow[20:25], dow[40:45]]).unsqueeze(-1)   # their next 5 weekdays
>>> net = Covariates(LSTM, n_features=1, window=20, horizon=5, n_targets=1, n_future=1,
...                  output="quantile", quantiles=(0.1, 0.5, 0.9)).eval()
>>> net(x, x_future).shape
torch.Size([2, 5, 1, 3])
>>> torch.equal(net(x, x_future), net.net(x))                        # untrained: the LSTM
True
"""

from __future__ import annotations

import inspect

import torch
from torch import Tensor, nn

from skfin.nets.heads import head_class

__all__ = ["Covariates", "check_covariates", "handles_missing", "reads_covariates", "reads_time",
           "shift_and_gain"]

#: Hidden width of the covariate MLP.
WIDTH = 32


def reads_time(net: type[nn.Module]) -> bool:
    """Whether ``net`` reads the time elapsed between observations (``forward(x, dt=...)``).

    Examples
    --------
    >>> from skfin.nets import LSTM, NeuralODE
    >>> reads_time(NeuralODE), reads_time(LSTM)
    (True, False)
    """
    return bool(getattr(net, "reads_time", False))


def handles_missing(net: type[nn.Module]) -> bool:
    """Whether ``net`` reads NaN in its input windows as missing values (no filling needed).

    Examples
    --------
    >>> from skfin.nets import LSTM, NeuralCDE
    >>> handles_missing(NeuralCDE), handles_missing(LSTM)
    (True, False)
    """
    return bool(getattr(net, "handles_missing", False))


def reads_covariates(net: type[nn.Module]) -> bool:
    """Whether ``net`` takes known-future and static covariates itself (``n_future``, ``n_static``).

    Examples
    --------
    >>> from skfin.nets import LSTM, TFT
    >>> reads_covariates(TFT), reads_covariates(LSTM)
    (True, False)
    """
    params = inspect.signature(net).parameters
    return "n_future" in params and "n_static" in params


class Covariates(nn.Module):
    """Any net of the contract, conditioned on known-future and static covariates.

    Parameters
    ----------
    net : type of torch.nn.Module
        The net class to wrap (e.g. :class:`skfin.nets.LSTM`); built here with
        ``net_kwargs``.
    n_future : int, default=0
        Known-future covariates ``x_future: [B, horizon, n_future]``.
    n_static : int, default=0
        Static covariates ``x_static: [B, n_static]``.
    **net_kwargs
        The wrapped net's arguments; ``n_features``, ``horizon``, ``n_targets`` and
        ``output`` are required (the tensor contract), ``dropout`` is also applied in the
        covariate MLP.

    Attributes
    ----------
    net : torch.nn.Module
        The wrapped net; ``head`` and ``explain`` are its own.

    See Also
    --------
    skfin.nets.TFT : reads covariates natively, and is therefore never wrapped.
    skfin.forecasting.LSTMForecaster : ``future_X=`` decides which columns of X are known ahead.

    Notes
    -----
    See the module docstring for the mechanism. Gradients reach the wrapped net unchanged
    through ``g * params``; the covariate MLP learns from the start because only its last
    layer is zero.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> from skfin.nets import NBEATS
    >>> sp = load_sp500().iloc[-41:]
    >>> r = torch.tensor(sp["Close"].pct_change().to_numpy()[1:] * 100, dtype=torch.float32)
    >>> dow = torch.tensor(sp.index.dayofweek.to_numpy()[1:], dtype=torch.float32)
    >>> net = Covariates(NBEATS, n_features=1, window=30, horizon=5, n_targets=1, n_future=1,
    ...                  n_static=2, output="gaussian")
    >>> out = net(r[:30].view(1, 30, 1), dow[30:35].view(1, 5, 1), torch.tensor([[1.0, 0.0]]))
    >>> out.shape, bool((out[..., 1] > 0).all())                        # scales stay positive
    (torch.Size([1, 5, 1, 2]), True)
    """

    def __init__(self, net: type[nn.Module], *, n_future: int = 0, n_static: int = 0,
                 **net_kwargs):
        super().__init__()
        self.net = net(**net_kwargs)
        self.n_future, self.n_static = n_future, n_static
        self.horizon, self.n_targets = net_kwargs["horizon"], net_kwargs["n_targets"]
        self.output = net_kwargs.get("output", "point")
        inputs = net_kwargs["n_features"] + self.horizon * n_future + n_static
        self.mlp = nn.Sequential(
            nn.Linear(inputs, WIDTH), nn.GELU(), nn.Dropout(net_kwargs.get("dropout", 0.0)),
            nn.Linear(WIDTH, 2 * self.horizon * self.n_targets),
        )
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    @property
    def head(self) -> nn.Module:
        """The wrapped net's head (point forecasts and quantiles are read through it)."""
        return self.net.head

    @property
    def auxiliary_loss(self):
        """The wrapped net's auxiliary loss, if it has one (see :class:`~skfin.engine.SkfinNet`)."""
        return self.net.auxiliary_loss

    def explain(self, x: Tensor, x_future: Tensor | None = None,
                x_static: Tensor | None = None) -> dict[str, Tensor]:
        """The wrapped net's explanation of the past window (covariates do not enter it)."""
        return self.net.explain(x)

    def forward(self, x: Tensor, x_future: Tensor | None = None,
                x_static: Tensor | None = None, **inputs: Tensor) -> Tensor:   # x: [B, W, F]
        params = self.net(x, **inputs)                   # [B, H, T, P]; inputs: e.g. dt
        parts = [torch.nan_to_num(x[:, -1])]      # [B, F]; NaN: a net that reads it missing
        if self.n_future:
            parts.append(x_future.flatten(1))                         # [B, H * K]
        if self.n_static:
            parts.append(x_static)                                    # [B, S]
        effect = self.mlp(torch.cat(parts, dim=1))                    # [B, 2 * H * T]
        effect = effect.view(-1, self.horizon, self.n_targets, 2)
        return shift_and_gain(self.output, params, effect)            # [B, H, T, P]


def shift_and_gain(output: str, params: Tensor, effect: Tensor) -> Tensor:
    """The head parameters ``params: [B, H, T, P]`` moved by a covariate ``effect: [B, H, T, 2]``.

    ``effect[..., 0]`` is the shift ``a``, ``effect[..., 1]`` the log-gain ``s``, bounded
    to a gain ``g = exp(3 tanh(s / 3))`` in (0.05, 20); the head's own affine map applies
    them (see the module docstring), so every head keeps its constraints. A zero effect
    leaves ``params`` as they are.
    """
    shift, log_gain = effect.unbind(-1)                               # [B, H, T] each
    gain = torch.exp(3.0 * torch.tanh(log_gain / 3.0))
    return head_class(output).denormalise(params, shift, gain)


def check_covariates(net: nn.Module, **inputs: Tensor | None) -> None:
    """Refuse ``x_future`` / ``x_static`` unless given exactly when ``net`` was built for them.

    For a net that reads its covariates itself (``native_covariates``): ``net.n_future``
    and ``net.n_static`` are the sizes it was built with, ``net.horizon`` its steps ahead.
    Each keyword is one of ``x_future=`` and ``x_static=``; the error names the input, the
    shape expected and the fix.

    Examples
    --------
    A TFT built for two known-future columns, given one (the day of the week of the next
    five S&P 500 sessions):

    >>> import torch
    >>> from skfin.calendars import calendar_features
    >>> from skfin.datasets import load_sp500
    >>> from skfin.nets import TFT
    >>> days = calendar_features(load_sp500().index[-5:], ["day_of_week"])
    >>> x_future = torch.tensor(days.to_numpy(), dtype=torch.float32)[None]  # [1, 5, 1]
    >>> net = TFT(n_features=1, window=20, horizon=5, n_targets=1, n_future=2)
    >>> check_covariates(net, x_future=x_future)
    Traceback (most recent call last):
    ...
    ValueError: x_future has 1 variables on its last axis; this TFT expects [batch, 5, 2].
    """
    name_of = type(net).__name__
    for name, given in inputs.items():
        short = name.removeprefix("x_")                               # "future" / "static"
        size = getattr(net, f"n_{short}")
        shape = f"[batch, {net.horizon}, {size}]" if short == "future" else f"[batch, {size}]"
        if size and given is None:
            raise ValueError(f"This {name_of} was built with n_{short}={size}: pass {name} of "
                             f"shape {shape}.")
        if not size and given is not None:
            raise ValueError(f"This {name_of} was built with n_{short}=0 and takes no {name}; "
                             f"rebuild it with n_{short}={given.shape[-1]}.")
        if given is not None and given.shape[-1] != size:
            raise ValueError(f"{name} has {given.shape[-1]} variables on its last axis; "
                             f"this {name_of} expects {shape}.")
