"""N-BEATS: neural basis expansion analysis (Oreshkin et al., 2020), with exogenous inputs.

A **block** is a stack of fully connected ReLU layers that reads the window and emits two
sets of expansion coefficients, ``theta_b`` and ``theta_f``; fixed or learned **bases** turn
them into a *backcast* over the window and a *forecast* over the horizon. Blocks are chained
by **residual stacking**: block ``l + 1`` reads ``x_{l+1} = x_l - backcast_l`` (what the
blocks before it did not explain), and the model's forecast is the sum of every block's
forecast. Consecutive blocks of one kind form a **stack**, whose summed forecast is its
share of the model's forecast (:meth:`NBEATS.explain`).

Bases (``stacks=`` lists one kind per stack):

* ``"generic"``: a learned linear basis. Composing ``theta = W h`` with a learned basis ``V``
  is one linear map, so, as in the reference code, the coefficients *are* the backcast and
  forecast (identity basis).
* ``"trend"``: polynomials ``t^i``, ``i = 0..degree``, with ``t = arange(horizon) / horizon``
  on the forecast and ``t = arange(window) / window`` on the backcast (the paper's choice):
  the trend stack's forecast is a polynomial of degree ``<= degree`` in ``t``.
* ``"seasonality"``: the Fourier terms ``cos(2 pi k t)``, ``sin(2 pi k t)``,
  ``k = 1..harmonics``, with time ``t`` counted in horizons on *one* axis across the
  backcast and the forecast (``t = (w - window) / horizon`` for window step ``w``,
  ``t = h / horizon`` for forecast step ``h``), so the backcast and the forecast share the
  same periods, ``horizon / k`` steps. There is no constant term: the level belongs to the
  trend, and the seasonal forecast sums to zero over a period (for ``horizon >= 2``). Sine
  terms that vanish at every integer step (``2k`` a multiple of ``horizon``) are left out.

The interpretable configuration of the paper (N-BEATS-I) is
``stacks=("trend", "seasonality")`` with the weights shared by the blocks of a stack
(``share_weights=None`` does that for trend and seasonality stacks, not for generic ones).

**Targets and exogenous features.** N-BEATS is univariate: the residual stream runs on the
target channels, which are the first ``n_targets`` input features (the sktime face puts
``y`` first; on the sklearn face, put the lagged target first, e.g. today's return when
``y`` is tomorrow's, otherwise the first column plays its role). The other features are
flattened into every block's fully connected input next to the current residual, the
N-BEATSx idea (Olivares et al., 2022), and are never backcast. Several targets share one
residual stream: each block reads all of them and expands coefficients per target.

**Probabilistic heads.** The sum of the stack forecasts is the location of every output,
so ``sum of stack forecasts == model forecast`` holds for the point forecast, the mean of
``"gaussian"``, the location of ``"student_t"`` and the median of ``"quantile"``. The spread
comes from a shared head of :mod:`skfin.nets.heads` on the last block's hidden state: its
scale (and degrees of freedom) are used as they are, and its quantiles are shifted so that
their median is the location, which keeps them non-crossing (a shift leaves the softplus
increments between levels alone). The head's own location output is not used.

Written here, not taken from a library: neuralforecast, darts and pytorch-forecasting have
N-BEATS inside their own training frameworks, not as a standalone module on this
package's tensor contract and shared heads.

References
----------
Oreshkin, Carpov, Chapados and Bengio (2020), "N-BEATS: Neural basis expansion analysis for
interpretable time series forecasting", ICLR.
Olivares, Challu, Marcjasz, Weron and Dubrawski (2022), "Neural basis expansion analysis
with exogenous variables: forecasting electricity prices with NBEATSx", International
Journal of Forecasting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skfin.nets._params import DROPOUT, POSITIVE, integer
from skfin.nets.heads import make_head

__all__ = ["NBEATS", "STACK_TYPES"]

#: The kinds of stack :class:`NBEATS` accepts in ``stacks=``.
STACK_TYPES = ("generic", "trend", "seasonality")


def _trend_basis(degree: int, length: int) -> Tensor:
    """Polynomial basis ``[degree + 1, length]``: row ``i`` is ``t^i``, ``t = arange(L) / L``."""
    t = torch.arange(length, dtype=torch.float64) / length
    return torch.stack([t ** i for i in range(degree + 1)]).float()


def _seasonality_basis(harmonics: int, horizon: int, steps: Tensor) -> Tensor:
    """Fourier basis ``[n_terms, len(steps)]`` at integer ``steps`` (0 = first forecast step).

    Time is counted in horizons, ``t = steps / horizon``; rows are ``cos(2 pi k t)`` and,
    unless it vanishes at every integer step, ``sin(2 pi k t)``, for ``k = 1..harmonics``.
    """
    t = steps.double() / horizon
    rows = []
    for k in range(1, harmonics + 1):
        rows.append(torch.cos(2 * math.pi * k * t))
        if (2 * k) % horizon:                       # sin(pi n) = 0 at every integer n
            rows.append(torch.sin(2 * math.pi * k * t))
    return torch.stack(rows).float()


class _Block(nn.Module):
    """FC stack -> ``theta_b``, ``theta_f`` -> fixed bases -> backcast, forecast.

    ``forward(residual [B, W, T], exog [B, W, F - T])`` returns the backcast ``[B, W, T]``
    (None for a block nothing reads after), the forecast ``[B, H, T]`` and the last hidden
    state ``[B, hidden_size]``.
    """

    def __init__(self, n_features: int, window: int, n_targets: int, hidden_size: int,
                 num_layers: int, dropout: float, basis_b: Tensor | None, basis_f: Tensor):
        super().__init__()
        layers: list[nn.Module] = []
        width = window * n_features
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_size
        self.fc = nn.Sequential(*layers)
        self.n_targets = n_targets
        self.register_buffer("basis_f", basis_f, persistent=False)             # [P_f, H]
        self.theta_f = nn.Linear(hidden_size, n_targets * basis_f.shape[0])
        if basis_b is None:
            self.basis_b, self.theta_b = None, None
        else:
            self.register_buffer("basis_b", basis_b, persistent=False)         # [P_b, W]
            self.theta_b = nn.Linear(hidden_size, n_targets * basis_b.shape[0])

    def forward(self, residual: Tensor, exog: Tensor) -> tuple[Tensor | None, Tensor, Tensor]:
        batch = residual.shape[0]
        h = self.fc(torch.cat([residual, exog], dim=-1).flatten(1))            # [B, d]
        theta_f = self.theta_f(h).view(batch, self.n_targets, -1)              # [B, T, P_f]
        forecast = torch.einsum("btp,ph->bht", theta_f, self.basis_f)          # [B, H, T]
        if self.theta_b is None:
            return None, forecast, h
        theta_b = self.theta_b(h).view(batch, self.n_targets, -1)              # [B, T, P_b]
        backcast = torch.einsum("btp,pw->bwt", theta_b, self.basis_b)          # [B, W, T]
        return backcast, forecast, h


class _AnchoredHead(nn.Module):
    """A shared head whose location is the N-BEATS forecast.

    ``forward(z [B, d], location [B, H, T]) -> [B, H, T, P]``. For ``output="point"`` the
    parameters are the location itself. Otherwise a head from :func:`make_head` reads ``z``;
    its scale and degrees of freedom are kept, its location is replaced by ``location``,
    and its quantiles are shifted so that their median is ``location`` (non-crossing is kept:
    a shift leaves the increments between levels alone).
    """

    def __init__(self, output: str, in_features: int, horizon: int, n_targets: int,
                 quantiles: Sequence[float] | None):
        super().__init__()
        self.output = output
        self.spread = (None if output == "point"
                       else make_head(output, in_features, horizon, n_targets, quantiles))
        if output == "quantile":
            levels = self.spread.levels
            if not levels[0] <= 0.5 <= levels[-1]:
                raise ValueError(
                    f"NBEATS anchors its quantiles on the median, the sum of its stack "
                    f"forecasts, so quantiles must span 0.5; got {levels.tolist()}. Add "
                    "levels on both sides of 0.5, e.g. quantiles=(0.1, 0.5, 0.9)."
                )

    def forward(self, z: Tensor, location: Tensor) -> Tensor:   # z: [B, d], loc: [B, H, T]
        loc = location.unsqueeze(-1)                              # [B, H, T, 1]
        if self.spread is None:
            return loc
        params = self.spread(z)                                   # [B, H, T, P]
        if self.output == "quantile":
            return params - self.spread.point(params).unsqueeze(-1) + loc
        return torch.cat([loc, params[..., 1:]], dim=-1)

    @property
    def levels(self) -> Tensor:
        """The learned quantile levels ``[Q]`` (ascending) of ``output="quantile"``.

        Those of the spread head, which the anchored quantiles keep. As with the shared
        heads, only a quantile head has them: ``hasattr(head, "levels")`` is False otherwise.
        """
        if self.output != "quantile":
            raise AttributeError("levels")
        return self.spread.levels

    def point(self, params: Tensor) -> Tensor:
        """Point forecast ``[..., H, T]``: the location (the median for quantiles)."""
        return params[..., 0] if self.spread is None else self.spread.point(params)

    def quantiles(self, params: Tensor, levels: Sequence[float]) -> Tensor:
        """Predictive quantiles ``[..., H, T, len(levels)]``."""
        if self.spread is None:
            raise ValueError(
                "NBEATS with output='point' has no predictive distribution; choose "
                "output='quantile', 'gaussian' or 'student_t' for model-based intervals."
            )
        return self.spread.quantiles(params, levels)


class NBEATS(nn.Module):
    """N-BEATS: stacks of fully connected blocks with basis expansion and residual stacking.

    See the module docstring for the bases, the handling of exogenous features and the
    design of the probabilistic heads.

    Parameters
    ----------
    n_features, window, horizon, n_targets : int
        The tensor contract: input ``[B, window, n_features]``, output
        ``[B, horizon, n_targets, n_params]``. The first ``n_targets`` features are the
        target channels the blocks backcast; the others are exogenous.
    output : str, default="point"
        Head, see :func:`skfin.nets.heads.make_head`. The location of every head is the sum
        of the stack forecasts.
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``; they must span 0.5 (the median is the anchor).
    stacks : tuple of {"generic", "trend", "seasonality"}, default=("generic",)
        One basis per stack, in order: a learned linear basis, polynomials of degree
        ``degree``, or Fourier terms. ``("trend", "seasonality")`` is the interpretable
        N-BEATS-I, whose ``net_.module_.explain(x)`` splits the forecast into the two.
    num_blocks : int, default=3
        Blocks per stack; each block reads what the blocks before it left unexplained.
    num_layers : int, default=4
        Fully connected ReLU layers per block.
    hidden_size : int, default=64
        Width of those layers.
    degree : int, default=2
        Degree of the trend polynomials.
    harmonics : int or None, default=None
        Fourier harmonics of the seasonality basis, periods ``horizon / k`` for
        ``k = 1..harmonics``; None means ``max(1, horizon // 2)``.
    share_weights : bool or None, default=None
        Share weights across the blocks of a stack; None shares them in trend and
        seasonality stacks only, as in the paper.
    dropout : float, default=0.0
        After every fully connected layer.

    Attributes
    ----------
    stack_names : list of str
        Keys of the stacks in :meth:`explain`: ``"trend"``, ``"seasonality"`` (suffixed by
        the stack's position when a kind repeats) and ``"stack_<i>"`` for generic stacks.

    Notes
    -----
    The very last block of the net has no backcast layer: nothing reads the residual after
    it, so such a layer would never be trained. With shared weights the last block is the
    stack's shared block, which keeps its backcast.

    References
    ----------
    Oreshkin et al. (2020), "N-BEATS: Neural basis expansion analysis for interpretable time
    series forecasting", ICLR. Olivares et al. (2022), "Neural basis expansion analysis with
    exogenous variables", International Journal of Forecasting.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_airline
    >>> y = torch.tensor(load_airline().to_numpy()[-48:], dtype=torch.float32).log()
    >>> x = ((y - y.mean()) / y.std()).view(1, 48, 1)             # [B=1, W=48, F=1]
    >>> net = NBEATS(n_features=1, window=48, horizon=12, n_targets=1,
    ...              stacks=("trend", "seasonality"))
    >>> net(x).shape
    torch.Size([1, 12, 1, 1])
    >>> parts = net.explain(x)
    >>> sorted(parts)
    ['backcast_seasonality', 'backcast_trend', 'residual', 'seasonality', 'trend']
    >>> bool(torch.allclose(parts["trend"] + parts["seasonality"], net(x)[..., 0], atol=1e-6))
    True
    """

    _parameter_constraints: dict = {
        # the entries of ``stacks`` are checked in __init__, which names the valid ones
        "stacks": [tuple, list], "num_blocks": POSITIVE, "num_layers": POSITIVE,
        "hidden_size": POSITIVE, "degree": [integer(0)], "harmonics": [integer(1), None],
        "share_weights": ["boolean", None], "dropout": DROPOUT,
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 stacks: Sequence[str] = ("generic",), num_blocks: int = 3,
                 num_layers: int = 4, hidden_size: int = 64, degree: int = 2,
                 harmonics: int | None = None, share_weights: bool | None = None,
                 dropout: float = 0.0):
        super().__init__()
        stacks = [stacks] if isinstance(stacks, str) else list(stacks)
        bad = [s for s in stacks if s not in STACK_TYPES]
        if not stacks or bad:
            raise ValueError(
                f"NBEATS needs stacks to be a non-empty sequence of {STACK_TYPES}; got "
                f"{stacks!r}. Use e.g. stacks=('generic',) or stacks=('trend', 'seasonality')."
            )
        if n_features < n_targets:
            raise ValueError(
                f"NBEATS backcasts the first n_targets={n_targets} input features, but the "
                f"input has only n_features={n_features}. Put the target series first in X."
            )
        for name, value, low in [("num_blocks", num_blocks, 1), ("num_layers", num_layers, 1),
                                 ("hidden_size", hidden_size, 1), ("degree", degree, 0),
                                 ("harmonics", 1 if harmonics is None else harmonics, 1)]:
            if int(value) != value or value < low:
                raise ValueError(f"NBEATS needs {name} to be an integer >= {low}; got {value!r}.")
        self.window, self.horizon, self.n_targets = window, horizon, n_targets
        harmonics = max(1, horizon // 2) if harmonics is None else int(harmonics)
        steps_b = torch.arange(-window, 0)                    # window steps, in forecast steps
        steps_f = torch.arange(horizon)
        bases = {
            "generic": (torch.eye(window), torch.eye(horizon)),
            "trend": (_trend_basis(degree, window), _trend_basis(degree, horizon)),
            "seasonality": (_seasonality_basis(harmonics, horizon, steps_b),
                            _seasonality_basis(harmonics, horizon, steps_f)),
        }

        def block(kind: str, backcast: bool) -> _Block:
            basis_b, basis_f = bases[kind]
            return _Block(n_features, window, n_targets, hidden_size, num_layers, dropout,
                          basis_b.clone() if backcast else None, basis_f.clone())

        self.stacks = nn.ModuleList()
        for i, kind in enumerate(stacks):
            last = i == len(stacks) - 1
            share = kind != "generic" if share_weights is None else bool(share_weights)
            if share:   # one module applied num_blocks times
                blocks = [block(kind, backcast=not (last and num_blocks == 1))] * num_blocks
            else:
                blocks = [block(kind, backcast=not (last and j == num_blocks - 1))
                          for j in range(num_blocks)]
            self.stacks.append(nn.ModuleList(blocks))
        self.stack_names = [
            f"stack_{i}" if kind == "generic" else kind if stacks.count(kind) == 1
            else f"{kind}_{i}" for i, kind in enumerate(stacks)
        ]
        self.head = _AnchoredHead(output, hidden_size, horizon, n_targets, quantiles)

    def _decompose(self, x: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor, Tensor]:
        """Per-stack forecasts ``[B, H, T]`` and backcasts ``[B, W, T]``, the final residual
        ``[B, W, T]`` and the last block's hidden state ``[B, d]``."""
        residual = x[..., :self.n_targets]                                    # [B, W, T]
        exog = x[..., self.n_targets:]                                        # [B, W, F - T]
        forecasts, backcasts = [], []
        h = x.new_zeros(0)
        for stack in self.stacks:
            forecast, backcast = 0, torch.zeros_like(residual)
            for block in stack:
                b, f, h = block(residual, exog)
                forecast = forecast + f                                        # [B, H, T]
                if b is not None:
                    residual = residual - b                                    # x_{l+1} = x_l - b_l
                    backcast = backcast + b
            forecasts.append(forecast)
            backcasts.append(backcast)
        return forecasts, backcasts, residual, h

    def forward(self, x: Tensor) -> Tensor:             # x: [B, W, F]
        forecasts, _, _, h = self._decompose(x)
        location = 0
        for forecast in forecasts:
            location = location + forecast              # [B, H, T]
        return self.head(h, location)                   # [B, H, T, P]

    def explain(self, x: Tensor) -> dict[str, Tensor]:
        """Each stack's forecast and backcast, and what no block explained.

        Returns
        -------
        dict of str to Tensor
            ``{name: [B, H, T]}`` per stack (their sum is the point forecast, or the
            location of a distribution / the median of quantiles), ``{"backcast_" + name:
            [B, W, T]}`` per stack, and ``"residual"``: the target channels minus every
            backcast, ``[B, W, T]``.
        """
        forecasts, backcasts, residual, _ = self._decompose(x)
        parts = dict(zip(self.stack_names, forecasts))
        parts.update({f"backcast_{n}": b for n, b in zip(self.stack_names, backcasts)})
        parts["residual"] = residual
        return parts
