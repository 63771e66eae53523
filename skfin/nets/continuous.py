"""Continuous-time nets: an ODE-RNN (:class:`NeuralODE`) and a neural CDE (:class:`NeuralCDE`).

Both read the window as observations made at *times*, not as a plain sequence: the optional
``dt: [B, window]`` of ``forward(x, dt=None)`` is the time elapsed between consecutive rows,
in units of one typical step (trading-day units: 1.0 between consecutive trading days, 2.0
across a holiday; or calendar days, 3.0 across a weekend, if that is what the user measures).
``dt[:, 0]``, the gap before the window's first row, is ignored; ``dt=None`` means equal
spacing (all ones) and gives exactly the same output as ``dt`` of ones. ``dt`` must be finite
and non-negative. The forecast steps ``h = 1..horizon`` lie at ``t_last + h`` in those units.
Both nets declare ``reads_time = True`` so that the engine passes ``dt``.

* :class:`NeuralODE` is the ODE-RNN of Rubanova et al. (2019), built on the neural ODE of
  Chen et al. (2018): a hidden state follows ``dh/dt = f(h)`` (an MLP) between observations
  and is updated by a GRU cell at each observation; the forecast follows the same ODE from
  the last observation to ``t_last + 1, ..., t_last + horizon``, the latent-ODE way.
* :class:`NeuralCDE` is the neural controlled differential equation of Kidger et al. (2020):
  the window becomes a continuous path ``X`` (features, time and observational intensity),
  and ``dz = f(z) dX`` runs along it. Missing values (NaN) are read natively
  (``handles_missing = True``): see :class:`NeuralCDE` for the exact semantics.

Which library does what: ``torchdiffeq`` (Chen et al.) solves the ODEs, with the solver
chosen by name (``solver=``), optionally back-propagating with the adjoint method
(``adjoint=True``, :func:`torchdiffeq.odeint_adjoint`: memory independent of the number of
solver steps, at the cost of a second solve backwards). ``torchcde`` (Kidger et al.) builds
the interpolated control path (Hermite cubic splines with backward differences, or linear
interpolation) and solves the CDE (:func:`torchcde.cdeint`, itself on ``torchdiffeq``).
Both are optional: install them with ``pip install "skfin[ode]"``. They are imported when a
net is built, so ``import skfin.nets`` works without them.

Solvers and cost. Fixed-step solvers (``"euler"``, ``"midpoint"``, ``"heun2"``, ``"heun3"``,
``"rk4"``, the Adams methods) take ``ceil(1 / step_size)`` equal steps between consecutive
observations (and per forecast step), never stepping across an observation; their cost is
known in advance, and their result for a sample never depends on the rest of the batch
(``"implicit_adams"`` also iterates its corrector to ``rtol`` / ``atol``).
Adaptive solvers (``"dopri5"``, ``"bosh3"``, ``"dopri8"``, ``"fehlberg2"``,
``"adaptive_heun"``) choose their steps to meet ``rtol`` / ``atol``: more accurate dynamics,
but a cost that grows as training makes the dynamics stiffer, and one step size for the
whole batch (torchdiffeq's error norm is taken over the batch), so a sample's output can
move slightly with the batch it is in. The defaults, ``"rk4"`` with ``step_size=0.5`` (two
4-stage steps per gap), are accurate enough for standardised inputs and cheap on a CPU.

References
----------
Chen, Rubanova, Bettencourt and Duvenaud (2018), "Neural ordinary differential equations",
NeurIPS. Rubanova, Chen and Duvenaud (2019), "Latent ODEs for irregularly-sampled time
series", NeurIPS. Kidger, Morrill, Foster and Lyons (2020), "Neural controlled differential
equations for irregular time series", NeurIPS. Morrill, Kidger, Yang and Lyons (2021),
"Neural controlled differential equations for online prediction tasks", arXiv:2106.11028.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skfin.nets._params import POSITIVE, contract_doc, options, real
from skfin.nets.heads import make_head
from skfin.nets.recurrent import init_rnn_weights

__all__ = ["NeuralCDE", "NeuralODE"]

#: torchdiffeq solvers left out: scipy's solvers run outside autograd (no gradients).
_EXCLUDED_SOLVERS = ("scipy_solver",)

_CONSTRAINTS: dict = {
    # the solver name is checked in __init__ against torchdiffeq's solvers, which it lists
    "hidden_size": POSITIVE, "solver": [str], "rtol": [real(0, None, "neither")],
    "atol": [real(0, None, "neither")], "step_size": [real(0, 1, "right")],
    "adjoint": ["boolean"],
}


#: Parameters entries shared by both nets (filled by :func:`skfin.nets._params.contract_doc`).
_SOLVER_DOC = """\
    solver : str, default="rk4"
        torchdiffeq method that integrates the equation. Fixed-step solvers (``"euler"``,
        ``"midpoint"``, ``"rk4"``, ...) cost a known number of steps; adaptive ones
        (``"dopri5"``, ``"bosh3"``, ...) choose their steps to meet ``rtol`` and ``atol``:
        more accurate, slower, and the cost grows as the dynamics stiffen during training.
    rtol : float, default=1e-3
        Relative error tolerance of adaptive solvers (ignored by fixed-step ones). Smaller
        is more accurate and slower.
    atol : float, default=1e-4
        Absolute error tolerance of adaptive solvers (ignored by fixed-step ones)."""
_ADJOINT_DOC = """\
    adjoint : bool, default=False
        Back-propagate with the adjoint method (:func:`torchdiffeq.odeint_adjoint`): memory
        no longer grows with the number of solver steps, but each backward pass solves the
        equation again backwards in time (slower), and gradients are exact only up to the
        solver's accuracy."""


def _require(module: str):
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"skfin's continuous-time nets (NeuralODE, NeuralCDE) need the '{module}' "
            f'package, which is not installed. Install the extra with: pip install "skfin[ode]"'
        ) from exc


def _solvers() -> dict[str, bool]:
    """``{name: is_fixed_step}`` for every torchdiffeq solver the nets accept."""
    _require("torchdiffeq")
    from torchdiffeq._impl.odeint import SOLVERS           # the registry odeint reads
    from torchdiffeq._impl.solvers import FixedGridODESolver

    return {name: issubclass(cls, FixedGridODESolver) for name, cls in sorted(SOLVERS.items())
            if name not in _EXCLUDED_SOLVERS}


def _check_solver(net: str, solver: str, rtol: float, atol: float, step_size: float) -> bool:
    """Validate the solver settings shared by both nets; return whether it is fixed-step."""
    valid = _solvers()
    if solver not in valid:
        why = (" (scipy's solvers run outside autograd, so nothing would learn)"
               if solver in _EXCLUDED_SOLVERS else "")
        raise ValueError(
            f"{net} got solver={solver!r}{why}; the torchdiffeq solvers are "
            f"{sorted(valid)}. Use a fixed-step solver ('rk4', 'euler', ...) with step_size, "
            "or an adaptive one ('dopri5', 'bosh3', ...) with rtol and atol."
        )
    if not 0 < step_size <= 1:
        raise ValueError(
            f"{net} needs 0 < step_size <= 1 (a fraction of the gap between two "
            f"observations); got step_size={step_size!r}. E.g. 0.5 takes two steps per gap."
        )
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not value > 0:
            raise ValueError(f"{net} needs {name} > 0; got {name}={value!r}.")
    return valid[solver]


def _substep_grid(n: int):
    """A torchdiffeq ``grid_constructor``: ``n`` equal steps between consecutive times."""
    def grid(func, y0, t: Tensor) -> Tensor:               # t: [K], increasing
        frac = torch.arange(n, dtype=t.dtype, device=t.device) / n               # [n]
        inner = t[:-1, None] + (t[1:] - t[:-1])[:, None] * frac                  # [K-1, n]
        return torch.cat([inner.flatten(), t[-1:]])                              # [(K-1)n+1]
    return grid


def _gaps(x: Tensor, dt: Tensor | None) -> Tensor:
    """``dt`` as ``[B, W]`` in ``x``'s dtype and device (ones when None)."""
    if dt is None:
        return x.new_ones(x.shape[:2])
    if dt.shape != x.shape[:2]:
        raise ValueError(
            f"dt must be [batch, window] = {tuple(x.shape[:2])}, the time elapsed before "
            f"each row of x; got shape {tuple(dt.shape)}."
        )
    return dt.to(dtype=x.dtype, device=x.device)


class _Solve:
    """The solver settings of a net, turned into torchdiffeq keyword arguments."""

    def __init__(self, solver: str, rtol: float, atol: float, step_size: float, fixed: bool):
        self.solver, self.rtol, self.atol, self.fixed = solver, rtol, atol, fixed
        self.substeps = math.ceil(1 / step_size - 1e-9)

    def kwargs(self, jumps: Tensor | None = None) -> dict:
        """``method``, ``rtol``, ``atol`` and ``options``; ``jumps`` are times an adaptive
        solver must not step across (the knots of a control path)."""
        if self.fixed:
            opts = {"grid_constructor": _substep_grid(self.substeps)}
        else:
            opts = {} if jumps is None or jumps.numel() == 0 else {"jump_t": jumps}
        return {"method": self.solver, "rtol": self.rtol, "atol": self.atol, "options": opts}


# ----------------------------------------------------------------------------- NeuralODE
class _Dynamics(nn.Module):
    """``f(h)``: the autonomous ODE of the hidden state, an MLP with one tanh hidden layer
    (a second one made overfitting a real batch two to four times slower)."""

    def __init__(self, hidden_size: int, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_size, width), nn.Tanh(),
                                 nn.Linear(width, hidden_size))
        for m in self.net:             # Rubanova et al.'s initialisation: small, zero bias
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.1)
                nn.init.zeros_(m.bias)

    def forward(self, t: Tensor, h: Tensor) -> Tensor:    # h: [B, d]
        return self.net(h)                                  # [B, d]


class _Gap(nn.Module):
    """``dh/ds = dt_b f(h)`` over a normalised gap ``s in [0, 1]``: one solve serves a batch
    whose samples have different gaps ``dt_b``."""

    def __init__(self, f: _Dynamics, gap: Tensor):
        super().__init__()
        self.f, self.gap = f, gap                           # gap: [B, 1]

    def forward(self, s: Tensor, h: Tensor) -> Tensor:    # h: [B, d]
        return self.gap * self.f(s, h)


@contract_doc(solver=_SOLVER_DOC, adjoint=_ADJOINT_DOC)
class NeuralODE(nn.Module):
    """ODE-RNN encoder with a latent-ODE decoder, for irregularly spaced observations.

    The hidden state ``h`` starts at zero and is updated by a GRU cell at the window's first
    row; between rows ``i - 1`` and ``i`` it follows ``dh/dt = f(h)``, an MLP, for the
    elapsed time ``dt[:, i]`` (solved by torchdiffeq over a normalised time ``s in [0, 1]``
    with ``dh/ds = dt_b f(h)``, so one solve per gap serves the whole batch), then the GRU
    cell reads row ``i``. From the last row the same ODE carries ``h`` to
    ``t_last + 1, ..., t_last + horizon``, and one per-step head
    (``make_head(..., per_step=True)``) decodes each of these states: the forecast steps
    differ only by how far the learned dynamics have carried the state, as in a latent
    ODE, so the horizon is read as time, not as separate output slots.

    Parameters
    ----------
    {contract}
    hidden_size : int, default=32
        Size of the hidden state that the ODE evolves and the GRU cell updates.
    ode_hidden : int, default=32
        Width of the hidden layer of the MLP ``f`` that defines the dynamics
        ``dh/dt = f(h)`` between observations (and into the forecast).
    {solver}
    step_size : float, default=0.5
        Step of fixed-step solvers, as a fraction of the gap between two observations:
        ``ceil(1 / step_size)`` steps per gap whatever its length (0.5: two steps), and as
        many per forecast step. Smaller is more accurate and slower; ignored by adaptive
        solvers.
    {adjoint}

    Attributes
    ----------
    reads_time : bool
        True: ``forward`` takes ``dt``, which the engine passes.
    handles_missing : bool
        False: NaN in ``x`` propagates; the engine's missing-value policy applies.

    See Also
    --------
    NeuralCDE : continuous-time net that also reads missing values natively.

    Notes
    -----
    Any ``window >= 1`` works. ``forward(x, dt=None)``: ``dt: [B, window]`` is the time
    before each row (see the module docstring; ``dt[:, 0]`` is ignored since the state
    starts at the first row). A window of one row is one GRU update followed by the
    forecast ODE. :meth:`features` returns the
    hidden state after each row; it depends only on the rows up to that one, whatever the
    solver. The GRU cell is initialised like :class:`skfin.nets.LSTM`'s recurrent layers,
    the MLP ``f`` with small weights, as in Rubanova et al.'s code.

    References
    ----------
    Chen et al. (2018), "Neural ordinary differential equations", NeurIPS. Rubanova, Chen
    and Duvenaud (2019), "Latent ODEs for irregularly-sampled time series", NeurIPS.

    Examples
    --------
    WTI prices are missing on 290 holidays: drop them and tell the net how many business
    days passed between the remaining rows (1, or more across holidays).

    >>> import numpy as np
    >>> import torch
    >>> from skfin.datasets import load_wti
    >>> wti = load_wti().iloc[-61:]
    >>> kept = np.flatnonzero(wti.notna().to_numpy())                  # business-day rows
    >>> r = 100 * np.diff(np.log(wti.to_numpy()[kept]))               # returns, observed days
    >>> gaps = np.diff(kept).astype(np.float32)                        # 1.0, or 2.0 and more
    >>> x = torch.tensor(r[-40:], dtype=torch.float32).view(2, 20, 1)
    >>> dt = torch.tensor(gaps[-40:]).view(2, 20)
    >>> net = NeuralODE(n_features=1, window=20, horizon=5, n_targets=1, output="gaussian")
    >>> net(x, dt=dt).shape
    torch.Size([2, 5, 1, 2])
    >>> bool(torch.equal(net(x), net(x, dt=torch.ones(2, 20))))       # dt=None: all ones
    True
    >>> bool((net(x, dt=dt) != net(x)).any())                          # the gaps matter
    True
    """

    reads_time = True
    handles_missing = False
    _parameter_constraints: dict = {**_CONSTRAINTS, "ode_hidden": POSITIVE}

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, ode_hidden: int = 32, solver: str = "rk4",
                 rtol: float = 1e-3, atol: float = 1e-4, step_size: float = 0.5,
                 adjoint: bool = False):
        super().__init__()
        fixed = _check_solver("NeuralODE", solver, rtol, atol, step_size)
        self.horizon, self.adjoint = horizon, bool(adjoint)
        self.solve = _Solve(solver, rtol, atol, step_size, fixed)
        self.cell = nn.GRUCell(n_features, hidden_size)
        self.dynamics = _Dynamics(hidden_size, ode_hidden)
        self.head = make_head(output, hidden_size, horizon, n_targets, quantiles, per_step=True)
        init_rnn_weights(self.cell)

    def _odeint(self, func: nn.Module, h: Tensor, t: Tensor) -> Tensor:
        torchdiffeq = _require("torchdiffeq")
        if self.adjoint:
            return torchdiffeq.odeint_adjoint(func, h, t, **self.solve.kwargs(),
                                              adjoint_params=tuple(self.dynamics.parameters()))
        return torchdiffeq.odeint(func, h, t, **self.solve.kwargs())

    def features(self, x: Tensor, dt: Tensor | None = None) -> Tensor:
        """Hidden state after each row's GRU update, ``[B, window, hidden_size]``.

        Row ``i``'s state depends only on rows ``0..i`` of ``x`` and on ``dt[:, 1..i]``.
        """
        dt = _gaps(x, dt)                                         # [B, W]
        unit = torch.tensor([0.0, 1.0], dtype=x.dtype, device=x.device)
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)        # [B, d]
        states = []
        for i in range(x.shape[1]):
            if i > 0:                                             # evolve over the gap
                h = self._odeint(_Gap(self.dynamics, dt[:, i:i + 1]), h, unit)[-1]
            h = self.cell(x[:, i], h)                             # [B, d]
            states.append(h)
        return torch.stack(states, dim=1)                         # [B, W, d]

    def forward(self, x: Tensor, dt: Tensor | None = None) -> Tensor:   # x: [B, W, F]
        h = self.features(x, dt)[:, -1]                                   # [B, d]
        t = torch.arange(self.horizon + 1, dtype=x.dtype, device=x.device)  # t_last + 0..H
        future = self._odeint(self.dynamics, h, t)[1:]                    # [H, B, d]
        return self.head(future.transpose(0, 1))                          # [B, H, T, P]


# ----------------------------------------------------------------------------- NeuralCDE
def _fill_missing(x: Tensor, t: Tensor) -> Tensor:
    """NaN in ``x: [B, L, F]`` filled linearly in time ``t: [B, L]`` between the nearest
    observations of the same feature; the value of the nearest one before the first or after
    the last observation; 0 where a feature is never observed. Observed values are kept
    exactly, and no NaN enters the computation (finite gradients)."""
    observed = ~torch.isnan(x)                                              # [B, L, F]
    x0 = torch.where(observed, x, torch.zeros_like(x))
    length = x.shape[1]
    idx = torch.arange(length, device=x.device).view(1, -1, 1).expand_as(x)
    prev = torch.where(observed, idx, -1).cummax(dim=1).values              # last seen <= i
    nxt = torch.where(observed, idx, length).flip(1).cummin(dim=1).values.flip(1)  # >= i
    has_prev, has_next = prev >= 0, nxt < length
    prev, nxt = prev.clamp(min=0), nxt.clamp(max=length - 1)
    v_prev, v_next = x0.gather(1, prev), x0.gather(1, nxt)                  # [B, L, F]
    times = t.unsqueeze(-1).expand_as(x)
    t_prev, t_next = times.gather(1, prev), times.gather(1, nxt)
    span = t_next - t_prev
    both = has_prev & has_next & (span > 0)
    w = torch.where(both, (times - t_prev) / torch.where(both, span, torch.ones_like(span)),
                    torch.zeros_like(span))
    inside = v_prev + w * (v_next - v_prev)
    edge = torch.where(has_prev, v_prev, torch.where(has_next, v_next, torch.zeros_like(x0)))
    return torch.where(has_prev & has_next, inside, edge)


def _control_path(x: Tensor, dt: Tensor | None, scale: float = 1.0) -> Tensor:
    """The data ``[B, L', 1 + 2F]`` the control path interpolates: per row the time since
    the first row, the features (NaN filled, :func:`_fill_missing`) and the cumulative count
    of observations of each feature, time and counts multiplied by ``scale``. A single row
    (``L = 1``) is preceded by a copy of itself one step earlier, so ``L' = max(L, 2)``."""
    dt = _gaps(x, dt)                                                       # [B, L]
    t = torch.cat([dt.new_zeros(dt.shape[0], 1), dt[:, 1:].cumsum(1)], dim=1)   # [B, L]
    counts = (~torch.isnan(x)).to(x.dtype).cumsum(1)                        # [B, L, F]
    path = torch.cat([scale * t.unsqueeze(-1), _fill_missing(x, t), scale * counts], dim=-1)
    if x.shape[1] == 1:      # a constant path over one step: only the time channel moves
        before = path.clone()
        before[..., 0] -= scale
        path = torch.cat([before, path], dim=1)                             # [B, 2, C]
    return path


class _VectorField(nn.Module):
    """``f(z)``: hidden ``d`` -> ``d x channels`` matrices, tanh-bounded as in Kidger et al.

    The output layer starts ten times smaller than PyTorch's default. ``z`` sums
    ``f(z) dX`` over every increment of the window; on rough data (daily returns, unrelated
    rows) those increments are of order one each, so with the default scale ``z`` ends a
    32-row window with a spread of several units and the head starts far off (an initial
    loss of 7.5 on a standardised target, and early stopping kept a net scoring R^2 = -1.71
    on scikit-learn's regression check). Started small, ``z`` begins near ``z_0`` and the
    field grows where the data reward it (R^2 = 0.74 there, the LSTM's score).
    """

    def __init__(self, hidden_size: int, channels: int, width: int):
        super().__init__()
        self.hidden_size, self.channels = hidden_size, channels
        self.net = nn.Sequential(nn.Linear(hidden_size, width), nn.Softplus(),
                                 nn.Linear(width, hidden_size * channels), nn.Tanh())
        with torch.no_grad():
            self.net[2].weight.mul_(0.1)
            self.net[2].bias.mul_(0.1)

    def forward(self, t: Tensor, z: Tensor) -> Tensor:           # z: [B, d]
        return self.net(z).view(-1, self.hidden_size, self.channels)   # [B, d, C]


@contract_doc(solver=_SOLVER_DOC, adjoint=_ADJOINT_DOC)
class NeuralCDE(nn.Module):
    """Neural controlled differential equation over the window; reads missing values natively.

    The window becomes a continuous path ``X`` through the rows' data (torchcde): the time
    since the first row (``cumsum(dt)``), the features, and per feature its observational
    intensity, the cumulative count of rows where it was observed (time and counts divided
    by ``window``, so that they move by about 1 over a window of any length). The hidden
    state starts at ``z_0 = Linear(X(t_0))`` and follows ``dz = f(z) dX``, where the vector
    field ``f`` maps ``z`` to a ``hidden_size x channels`` matrix; the head reads ``z`` at
    the last row and forecasts all ``horizon`` steps from it. ``f`` is an MLP ending in tanh,
    as in the paper, with a softplus hidden layer where the paper has a ReLU: a smooth
    vector field keeps adaptive solvers and the adjoint accurate and cheap (with a ReLU they
    crawl through its kinks and their gradients converge slowly).

    Parameters
    ----------
    {contract}
    hidden_size : int, default=32
        Size of the hidden state ``z`` that the CDE evolves and the head reads.
    vf_hidden : int, default=64
        Width of the hidden layer of the vector field ``f``, the MLP that maps ``z`` to the
        matrix multiplying the path's increments ``dX``.
    interpolation : {"cubic", "linear"}, default="cubic"
        How the path joins the rows: ``"cubic"``, Hermite cubic splines with backward
        differences (a smooth path; Morrill et al., 2021), or ``"linear"``, straight lines
        (the simplest: each move between two rows is one straight piece). Both pass through
        every row, and each piece uses only the rows up to its end, so the state at a row
        never reads later rows.
    {solver}
    step_size : float, default=0.5
        Step of fixed-step solvers, as a fraction of the interval between two rows:
        ``ceil(1 / step_size)`` steps per interval (0.5: two steps). Smaller is more
        accurate and slower; ignored by adaptive solvers.
    {adjoint}

    Attributes
    ----------
    reads_time : bool
        True: ``forward`` takes ``dt``, which the engine passes.
    handles_missing : bool
        True: NaN in ``x`` are read as missing observations (see Notes).

    See Also
    --------
    NeuralODE : ODE-RNN with a latent-ODE decoder.

    Notes
    -----
    **Time.** ``forward(x, dt=None)``: the time channel is ``0, cumsum(dt[:, 1:])``
    divided by ``window`` (``dt[:, 0]`` is ignored; ``dt=None`` is all ones). Without that
    scaling the time and count channels, which only ever grow, push ``z`` by about the
    window length at initialisation. The solver runs over the row index,
    which the path's time channel turns into real time: a CDE's solution does not depend on
    how the path is parameterised, so one solve serves samples with different gaps.

    **Missing values.** A NaN in ``x`` is a feature not observed at that row:

    * the feature's channel is filled linearly in time between its nearest observations
      in the window (what torchcde does, computed here without its per-value Python loop;
      with equal gaps the fill equals torchcde's). Before its first observation in the
      window it holds that first value, after its last one (a NaN last row included) the
      last value, so a NaN last row carries the last observation forward;
    * a feature never observed in the window is the constant 0 (a constant adds nothing
      to ``dz``; it only enters ``z_0``);
    * the feature's intensity channel stops counting while it is missing, so the net always
      knows that the value was filled, and a NaN never reads as the filled number (nor as 0).

    Outputs and gradients stay finite. A fill inside the window reads the next observation
    of that feature, which lies inside the window: nothing after the window's last row is
    ever read, but with NaN the state :meth:`features` gives at an earlier row can depend on
    later rows of the window. Without NaN it never does: with fixed-step solvers (and up to
    the step sizes adaptive solvers choose for the whole batch) the state at a row depends
    only on the rows up to it.

    **Short windows.** Any ``window >= 1`` works. A path needs two points: a window of one row is preceded by a copy of
    itself one step earlier (a constant path over one step in which only time moves).

    References
    ----------
    Kidger, Morrill, Foster and Lyons (2020), "Neural controlled differential equations for
    irregular time series", NeurIPS. Morrill, Kidger, Yang and Lyons (2021), "Neural
    controlled differential equations for online prediction tasks", arXiv:2106.11028.

    Examples
    --------
    WTI's spot price is missing on holidays; its returns are NaN on a holiday and the day
    after. The net reads the NaN as such:

    >>> import numpy as np
    >>> import torch
    >>> from skfin.datasets import load_wti
    >>> wti = load_wti().iloc[-41:]
    >>> r = 100 * np.log(wti).diff().to_numpy()[1:]                   # NaN kept
    >>> x = torch.tensor(r, dtype=torch.float32).view(2, 20, 1)
    >>> int(x.isnan().sum())
    9
    >>> net = NeuralCDE(n_features=1, window=20, horizon=5, n_targets=1,
    ...                 output="quantile", quantiles=(0.1, 0.5, 0.9))
    >>> out = net(x)
    >>> out.shape, bool(out.isfinite().all())
    (torch.Size([2, 5, 1, 3]), True)
    """

    reads_time = True
    handles_missing = True
    #: Serving formats that cannot express the net, and why (read by skfin.export).
    _export_unsupported = {"onnx": "its control path (torchcde's interpolation) uses cummax "
                                   "and in-place index updates, which have no ONNX operator"}
    _parameter_constraints: dict = {**_CONSTRAINTS, "vf_hidden": POSITIVE,
                                    "interpolation": [options("cubic", "linear")]}

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, vf_hidden: int = 64, interpolation: str = "cubic",
                 solver: str = "rk4", rtol: float = 1e-3, atol: float = 1e-4,
                 step_size: float = 0.5, adjoint: bool = False):
        super().__init__()
        _require("torchcde")
        fixed = _check_solver("NeuralCDE", solver, rtol, atol, step_size)
        if interpolation not in ("cubic", "linear"):
            raise ValueError(
                f"NeuralCDE got interpolation={interpolation!r}; use 'cubic' (Hermite cubic "
                "splines with backward differences) or 'linear'."
            )
        self.window, self.interpolation, self.adjoint = window, interpolation, bool(adjoint)
        self.solve = _Solve(solver, rtol, atol, step_size, fixed)
        channels = 1 + 2 * n_features                   # time, features, intensities
        self.initial = nn.Linear(channels, hidden_size)
        self.field = _VectorField(hidden_size, channels, vf_hidden)
        self.head = make_head(output, hidden_size, horizon, n_targets, quantiles)

    def features(self, x: Tensor, dt: Tensor | None = None) -> Tensor:
        """Hidden state ``z`` at each row, ``[B, window, hidden_size]``.

        Without NaN, row ``i``'s state depends only on rows ``0..i`` of ``x`` and
        ``dt[:, 1..i]`` (fixed-step solvers; see Notes for NaN and adaptive solvers).
        """
        torchcde = _require("torchcde")
        path = _control_path(x, dt, 1 / self.window)                  # [B, L', C]
        if self.interpolation == "cubic":
            control = torchcde.CubicSpline(
                torchcde.hermite_cubic_coefficients_with_backward_differences(path))
        else:
            control = torchcde.LinearInterpolation(torchcde.linear_interpolation_coeffs(path))
        knots = control.grid_points                                   # [L'] = 0, 1, ...
        z0 = self.initial(path[:, 0])                                 # [B, d]
        z = torchcde.cdeint(X=control, func=self.field, z0=z0, t=knots, adjoint=self.adjoint,
                            **self.solve.kwargs(jumps=knots[1:-1]))   # [B, L', d]
        return z[:, -x.shape[1]:]                                     # [B, W, d]

    def forward(self, x: Tensor, dt: Tensor | None = None) -> Tensor:   # x: [B, W, F]
        return self.head(self.features(x, dt)[:, -1])                     # [B, H, T, P]
