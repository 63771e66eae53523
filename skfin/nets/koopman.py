"""Deep Koopman: a learned linear operator on learned observables (Lusch, Kutz & Brunton, 2018).

Koopman theory says that a nonlinear system ``x_{t+1} = f(x_t)`` acts *linearly* on
functions of its state: there are observables ``z = phi(x)`` with ``z_{t+1} = K z_t``. Deep
Koopman learns both with an autoencoder and a matrix:

* an **encoder** ``phi`` (an MLP) maps each state of the window to ``latent_dim`` observables
  ``z_t``;
* the **Koopman operator** ``K``, a ``latent_dim x latent_dim`` matrix, advances them one
  step: ``z_{t+k} = K^k z_t``, so the whole forecast is a linear rollout whose modes are the
  eigenvalues of ``K`` (a period ``2 pi / |arg lambda|`` and a decay ``-log |lambda|`` per
  step each);
* a **decoder** ``psi`` (an MLP) maps observables back to the state.

**The state.** A state is ``delays`` consecutive rows of the window, flattened (a delay
embedding, ``delays * n_features`` values, as in Hankel DMD). A window of ``W`` rows holds
``S = W - delays + 1`` states; the last one starts the forecast, and all of them train the
linearity and prediction losses. The default, half the window, balances the two: a state
long enough to show where a series is in its cycles (one row of a univariate series, say
a volatility, cannot), and enough states for the losses. ``delays=1`` is the paper's
setting, one row per state, for rows that already carry the state (lagged columns,
indicators). A window of one row has one state, and the losses that need two are skipped.

**The forecast.** ``forward`` encodes the last state, ``z_T = phi(x_T)``, rolls it forward,
``z_{T+h} = K^h z_T`` for ``h = 1..horizon``, and a per-step head of
:func:`skfin.nets.make_head` reads each ``z_{T+h}`` (one linear map shared by the steps).
The point forecast is therefore a linear read-out of the Koopman modes, ``y_{T+h} = b +
sum_j c_j lambda_j^h`` in the eigenbasis, and :meth:`DeepKoopman.explain`'s spectrum
explains the forecast itself, not a side model. The targets need not be features: the
head maps observables to whatever ``y`` is.

**The loss** (the paper's, without its ``L_inf`` term and weight decay). The engine's
criterion scores the head's output; :meth:`DeepKoopman.auxiliary_loss` adds mean squared
errors over the ``S`` states ``x_0..x_{S-1}`` of each training window:

* ``reconstruction_weight * ||x_t - psi(phi(x_t))||^2``, every ``t`` (an autoencoder);
* ``linearity_weight * ||phi(x_k) - K^k phi(x_0)||^2``, ``k = 1..S-1`` (the observables
  really evolve linearly);
* ``prediction_weight * ||x_k - psi(K^k phi(x_0))||^2``, same ``k`` (multi-step prediction
  in the state space).

As in the paper, a trajectory is rolled from its first state, so the cost grows linearly
with the window (rolling from every state would be quadratic); windows of a batch start
on different days, so every state is a starting point somewhere. Terms that need two
states are skipped when the window has one (``S = 1``). In training mode ``forward``
keeps the window's states and observables for :meth:`auxiliary_loss`, which consumes them,
as :class:`~skfin.nets.MultiTaskNet` does with its auxiliary heads.

**Stability** (``stable=True``). ``K`` is built block-diagonal from 2 x 2 blocks (and one
1 x 1 block when ``latent_dim`` is odd) whose eigenvalues lie inside the unit circle by
construction. A block's characteristic polynomial ``lambda^2 - tr lambda + det`` has both
roots in the open unit disk exactly when ``|det| < 1`` and ``|tr| < 1 + det`` (the Schur-Cohn
/ AR(2) stationarity triangle), so the block is parametrised by ``det = tanh(a)`` and
``tr = (1 + det) tanh(b)``, which covers the whole triangle: a damped rotation
``r e^{+-i theta}`` (``r^2 = det``) or two real eigenvalues in (-1, 1). The block itself is
``[[m + p, -w], [w, m - p]]`` with ``m = tr / 2``, ``p = sqrt(max(m^2 - det, 0))`` and ``w =
sqrt(max(det - m^2, 0))`` (each shrunk by a tiny smoothing that keeps its gradient finite and
only moves the eigenvalues further inside), whose eigenvalues are ``m +- p`` or ``m +- i w``.
The 1 x 1 block is ``tanh(c)``. Why this and not the alternatives: rescaling ``W / rho(W)``
needs an eigen-decomposition in every step (its gradient is ill-behaved at repeated
eigenvalues); an SVD form ``U S V^T`` with ``S`` in (0, 1] needs orthogonal
parametrisations (a matrix exponential or Householder products in every step, operators
that ONNX lacks), and bounds the spectral *norm*, more than asked. The blocks here are a
few elementwise ops and one ``einsum``; their eigenvalues are read off exactly (no
``eigvals``); and they lose no generality: every diagonalisable real matrix with spectral
radius below 1 is similar to such a block-diagonal matrix, and the change of basis is
absorbed by the encoder's last linear layer, the decoder's first and the head. This is also
the paper's own form for ``K`` (block-diagonal, built from its eigenvalues). Each block is
diagonal or a scaled rotation, so ``K`` is a normal matrix: its spectral norm equals its
spectral radius, and a rollout's observables never grow in norm. ``stable=False``
learns a dense, unconstrained ``K`` (the paper's plain network), which may grow.

Written here because no maintained library offers a Deep Koopman ``torch.nn.Module`` for a
forecasting contract like this one. On PyPI: ``deepkoopman`` (one release, 2023, "Deep
Koopman-based Modeling and Control"), ``dlkoopman`` (its ``StatePred`` / ``TrajPred`` own
their data handling and training loop), ``pykoopman`` (sklearn-style observables and
regressors; its neural ``NNDMD`` regressor is a PyTorch Lightning module that trains itself),
``pykoopman-ae`` and ``koopmanlab`` (research codes: an autoencoder package, Koopman Neural
Operators). None is a plain module that takes the shared heads, runs under the one
training engine and exports; the network is a few dozen lines of torch.

References
----------
Lusch, Kutz & Brunton (2018), "Deep learning for universal linear embeddings of nonlinear
dynamics", Nature Communications 9, 4950.

Examples
--------
>>> import numpy as np
>>> import torch
>>> from skfin.datasets import load_vix
>>> v = np.log(load_vix().dropna().to_numpy()[-65:])
>>> v = torch.tensor((v - v.mean()) / v.std(), dtype=torch.float32)
>>> x = v[:60].view(3, 20, 1)                                 # three 20-day log-VIX windows
>>> y = torch.stack([v[20:25], v[40:45], v[60:65]]).unsqueeze(-1)   # their next 5 days
>>> net = DeepKoopman(n_features=1, window=20, horizon=5, n_targets=1)
>>> net(x).shape                                              # training mode: keeps the window
torch.Size([3, 5, 1, 1])
>>> bool(net.auxiliary_loss(y) > 0)                  # reconstruction + linearity + prediction
True
>>> parts = net.eval().explain(x)
>>> bool((parts["eigenvalues"].abs() < 1).all())              # stable=True: inside the circle
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skfin.nets._params import POSITIVE, integer, real
from skfin.nets.heads import make_head

__all__ = ["DeepKoopman"]

#: Smoothing inside the block square roots: keeps their gradient finite at a repeated
#: eigenvalue (``m^2 = det``) and only shrinks the eigenvalues' distance from ``m``.
_SQRT_EPS = 1e-10


def _mlp(n_in: int, hidden_size: int, num_layers: int, n_out: int) -> nn.Sequential:
    """``num_layers`` ``Linear + ELU`` layers of width ``hidden_size``, then a linear map."""
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(num_layers):
        layers += [nn.Linear(width, hidden_size), nn.ELU()]
        width = hidden_size
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _mse(a: Tensor, b: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean squared error in float32 at least (half precision under autocast is upcast).

    With ``weight: [B]``, the weighted mean over samples of each sample's mean.
    """
    dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)
    squared = (a.to(dtype) - b.to(dtype)).pow(2)
    if weight is None:
        return squared.mean()
    weight = weight.to(dtype)
    return (squared.flatten(1).mean(dim=1) * weight).sum() / weight.sum()


def _smooth_sqrt(v: Tensor) -> Tensor:
    """``sqrt(max(v, 0))``, smoothed: finite gradient at 0, exactly 0 for ``v <= 0``."""
    # the same float ops on both sides, so that v <= 0 gives exactly 0
    return torch.sqrt(torch.relu(v) + _SQRT_EPS) - torch.sqrt(torch.zeros_like(v) + _SQRT_EPS)


class DeepKoopman(nn.Module):
    """Encoder, linear Koopman operator and decoder; the head reads the rolled-out observables.

    See the module docstring for the state (delay embedding), the loss and the stable
    parametrisation of ``K``.

    Parameters
    ----------
    n_features, window, horizon, n_targets : int
        The tensor contract: input ``[B, window, n_features]``, output
        ``[B, horizon, n_targets, n_params]``.
    output : str, default="point"
        Head, see :func:`skfin.nets.heads.make_head`; it reads the observables of each
        forecast step.
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``.
    latent_dim : int, default=8
        Number of learned observables, the size of the Koopman matrix: at most
        ``latent_dim`` modes (periods and decay rates) make up the forecast. More modes
        fit more dynamics and are harder to read.
    hidden_size : int, default=32
        Width of the encoder's and the decoder's hidden layers.
    num_layers : int, default=2
        Hidden layers of the encoder and of the decoder (each). 0 makes both linear: the
        model is then a linear state-space model, akin to dynamic mode decomposition.
    delays : int or None, default=None
        Rows of the window in one state (a delay embedding; at most ``window``). None
        means half the window, ``(window + 1) // 2``: the state then spans half of it and
        the other half gives the linearity and prediction losses their shifts. 1 encodes
        each row on its own (the paper's setting), which suits rows that already carry the
        state (lagged columns, indicators), not a univariate series.
    stable : bool, default=True
        Build ``K`` so that every eigenvalue has modulus below 1: forecasts cannot
        explode however far they are rolled out, and every mode decays. False learns an
        unconstrained ``K`` (modes may grow).
    reconstruction_weight : float, default=1.0
        Weight of the autoencoder loss, the mean squared error of
        ``decoder(encoder(state))`` against the state.
    linearity_weight : float, default=1.0
        Weight of the linearity loss: the observables of the window's first state rolled
        ``k`` steps by ``K`` against the encoded state ``k`` steps later, for every ``k``
        the window holds.
    prediction_weight : float, default=1.0
        Weight of the multi-step prediction loss: the same rollouts, decoded, against the
        states ``k`` steps later.

    Attributes
    ----------
    delays : int
        Rows per state, ``(window + 1) // 2`` when the parameter is None.
    n_states : int
        States in a window, ``window - delays + 1``.

    Notes
    -----
    ``forward`` returns only the head's parameters (the tensor contract). In training mode
    it also keeps the window's states and observables for :meth:`auxiliary_loss`, which
    consumes them; evaluation-mode passes keep nothing and encode the last state only.

    References
    ----------
    Lusch, Kutz & Brunton (2018), "Deep learning for universal linear embeddings of
    nonlinear dynamics", Nature Communications 9, 4950.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> r = 100 * np.log(load_sp500()["Close"].to_numpy()[-81:])
    >>> x = torch.tensor(np.diff(r), dtype=torch.float32)[:60].view(3, 20, 1)
    >>> net = DeepKoopman(n_features=1, window=20, horizon=3, n_targets=1, delays=5,
    ...                   output="gaussian").eval()
    >>> net(x).shape
    torch.Size([3, 3, 1, 2])
    >>> parts = net.explain(x)
    >>> parts["eigenvalues"].shape, parts["latent"].shape, parts["latent_forecast"].shape
    (torch.Size([3, 8]), torch.Size([3, 16, 8]), torch.Size([3, 3, 8]))
    """

    _parameter_constraints: dict = {
        "latent_dim": POSITIVE, "hidden_size": POSITIVE, "num_layers": [integer(0)],
        "delays": [integer(1), None], "stable": ["boolean"],
        "reconstruction_weight": [real(0)], "linearity_weight": [real(0)],   # auxiliary
        "prediction_weight": [real(0)],                                      # loss weights
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 latent_dim: int = 8, hidden_size: int = 32, num_layers: int = 2,
                 delays: int | None = None, stable: bool = True,
                 reconstruction_weight: float = 1.0, linearity_weight: float = 1.0,
                 prediction_weight: float = 1.0):
        super().__init__()
        delays = (window + 1) // 2 if delays is None else delays
        for name, value, low in [("latent_dim", latent_dim, 1), ("hidden_size", hidden_size, 1),
                                 ("num_layers", num_layers, 0), ("delays", delays, 1)]:
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(
                    f"DeepKoopman needs {name} to be an integer >= {low}; got {value!r}.")
        if delays > window:
            raise ValueError(
                f"DeepKoopman embeds delays={delays} rows per state, but the window has only "
                f"window={window} rows. Use delays <= window, e.g. delays={window}, or a "
                "longer window."
            )
        for name, value in [("reconstruction_weight", reconstruction_weight),
                            ("linearity_weight", linearity_weight),
                            ("prediction_weight", prediction_weight)]:
            if not value >= 0:
                raise ValueError(f"DeepKoopman needs {name} >= 0; got {name}={value!r}.")
        self.window, self.horizon, self.n_targets = window, horizon, n_targets
        self.n_features, self.latent_dim, self.delays = n_features, int(latent_dim), int(delays)
        self.n_states = window - self.delays + 1
        self.stable = bool(stable)
        self.reconstruction_weight = float(reconstruction_weight)
        self.linearity_weight = float(linearity_weight)
        self.prediction_weight = float(prediction_weight)
        state = self.delays * n_features
        self.encoder = _mlp(state, hidden_size, num_layers, self.latent_dim)
        self.decoder = _mlp(self.latent_dim, hidden_size, num_layers, state)
        self.head = make_head(output, self.latent_dim, horizon, n_targets, quantiles,
                              per_step=True)
        # K starts as damped rotations (modulus 0.9) with periods from 4 * latent_dim steps
        # down to about 4: slow and fast modes alike, none growing. Both options start from
        # the same matrix.
        n_pairs, odd = divmod(self.latent_dim, 2)
        theta = (math.pi / 2) * (torch.arange(n_pairs, dtype=torch.float64) + 0.5) / max(n_pairs, 1)
        det = torch.full((n_pairs,), 0.9 ** 2, dtype=torch.float64)
        trace = 2 * 0.9 * torch.cos(theta)
        real_eig = torch.full((odd,), 0.9, dtype=torch.float64)
        if self.stable:
            # No empty parameters: the 2 x 2 blocks need latent_dim >= 2, the 1 x 1 block
            # an odd latent_dim.
            self.det_logit = nn.Parameter(torch.atanh(det).float()) if n_pairs else None
            self.trace_logit = (nn.Parameter(torch.atanh(trace / (1 + det)).float())
                                if n_pairs else None)
            self.real_logit = nn.Parameter(torch.atanh(real_eig).float()) if odd else None
        else:
            self.weight = nn.Parameter(self._blocks_to_matrix(det, trace, real_eig).float())
        self._aux: tuple[Tensor, Tensor, Tensor] | None = None

    # ------------------------------------------------------------------ the operator K
    @staticmethod
    def _block_entries(det: Tensor, trace: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``m``, ``p``, ``w`` of the blocks ``[[m + p, -w], [w, m - p]]`` (``[n_pairs]`` each)."""
        m = trace / 2
        disc = m * m - det
        return m, _smooth_sqrt(disc), _smooth_sqrt(-disc)

    @classmethod
    def _blocks_to_matrix(cls, det: Tensor, trace: Tensor, real_eig: Tensor) -> Tensor:
        """Block-diagonal ``[L, L]`` matrix from the 2 x 2 blocks' determinants and traces."""
        m, p, w = cls._block_entries(det, trace)
        blocks = torch.stack([torch.stack([m + p, -w], -1),
                              torch.stack([w, m - p], -1)], -2)          # [n, 2, 2]
        n = blocks.shape[0]
        eye = torch.eye(n, dtype=blocks.dtype, device=blocks.device)
        k = torch.einsum("pij,pq->piqj", blocks, eye).reshape(2 * n, 2 * n)
        if real_eig.numel():                                             # odd latent_dim
            zero = k.new_zeros(2 * n, 1)
            k = torch.cat([torch.cat([k, zero], 1),
                           torch.cat([zero.T, real_eig.view(1, 1)], 1)], 0)
        return k                                                         # [L, L]

    def _stable_parts(self) -> tuple[Tensor, Tensor, Tensor]:
        """Block determinants and traces ``[n_pairs]`` and the 1 x 1 block ``[0 or 1]``."""
        empty = next(p for p in (self.det_logit, self.real_logit) if p is not None)[:0]
        if self.det_logit is None:
            det = trace = empty
        else:
            det = torch.tanh(self.det_logit)                              # (-1, 1)
            trace = (1 + det) * torch.tanh(self.trace_logit)              # |tr| < 1 + det
        real_eig = empty if self.real_logit is None else torch.tanh(self.real_logit)
        return det, trace, real_eig

    def koopman_matrix(self) -> Tensor:
        """The Koopman operator ``K``, ``[latent_dim, latent_dim]``: ``z_{t+1} = K z_t``."""
        if self.stable:
            return self._blocks_to_matrix(*self._stable_parts())
        return self.weight

    def eigenvalues(self) -> Tensor:
        """Eigenvalues of ``K``, complex ``[latent_dim]``, by decreasing modulus.

        Read off the blocks exactly when ``stable=True``; from ``torch.linalg.eigvals`` (on
        the CPU, in float64) otherwise. Conjugate pairs are adjacent.
        """
        if self.stable:
            det, trace, real_eig = self._stable_parts()
            m, p, w = self._block_entries(det, trace)
            re = torch.stack([m + p, m - p], -1).flatten()                # [2n]
            im = torch.stack([w, -w], -1).flatten()
            re = torch.cat([re, real_eig])
            im = torch.cat([im, torch.zeros_like(real_eig)])
            values = torch.complex(re, im)
        else:
            k = self.weight
            values = torch.linalg.eigvals(k.detach().cpu().double()).to(
                k.device, torch.complex64 if k.dtype != torch.float64 else torch.complex128)
        order = torch.sort(-values.abs(), stable=True).indices
        return values[order]

    # ------------------------------------------------------------------ encode and roll
    def _states(self, x: Tensor) -> Tensor:                       # x: [B, W, F]
        """Delay-embedded states ``[B, S, delays * F]``, rows oldest to newest."""
        b, _, f = x.shape
        s = x.unfold(1, self.delays, 1)                            # [B, S, F, d]
        return s.transpose(-1, -2).reshape(b, -1, self.delays * f)  # [B, S, d * F]

    def _rollout(self, z: Tensor, k: Tensor, steps: int) -> Tensor:   # z: [B, L]
        """``K^h z`` for ``h = 1..steps``: ``[B, steps, L]``."""
        out = []
        for _ in range(steps):
            z = z @ k.T
            out.append(z)
        return torch.stack(out, 1)

    def forward(self, x: Tensor) -> Tensor:                       # x: [B, W, F]
        k = self.koopman_matrix()                                  # [L, L]
        states = self._states(x)                                   # [B, S, dF]
        if self.training:
            z_all = self.encoder(states)                           # [B, S, L]
            self._aux = (states, z_all, k)
            z = z_all[:, -1]                                       # [B, L]
        else:
            z = self.encoder(states[:, -1])                        # [B, L]: the last state
        return self.head(self._rollout(z, k, self.horizon))        # [B, H, T, P]

    # ------------------------------------------------------------------ the auxiliary loss
    def _terms(self, states: Tensor, z: Tensor, k: Tensor,
               sample_weight: Tensor | None = None) -> dict[str, Tensor]:
        """Reconstruction, linearity and prediction losses (those weighted > 0), each a mean
        over samples (weighted by ``sample_weight: [B]`` when given)."""
        terms: dict[str, Tensor] = {}
        w = sample_weight
        if self.reconstruction_weight > 0:
            terms["reconstruction"] = _mse(self.decoder(z), states, w)
        shifts = z.shape[1] - 1
        if shifts < 1 or not (self.linearity_weight > 0 or self.prediction_weight > 0):
            return terms
        rolled = self._rollout(z[:, 0], k, shifts)                  # [B, S-1, L]: K^k z_0
        if self.linearity_weight > 0:
            terms["linearity"] = _mse(rolled, z[:, 1:], w)          # against z_k = phi(x_k)
        if self.prediction_weight > 0:
            terms["prediction"] = _mse(self.decoder(rolled), states[:, 1:], w)  # against x_k
        return terms

    def auxiliary_loss(self, y_true: Tensor | None = None,
                       sample_weight: Tensor | None = None) -> Tensor:
        """Weighted Koopman losses of the last training-mode ``forward``'s window.

        ``reconstruction_weight * reconstruction + linearity_weight * linearity +
        prediction_weight * prediction`` (see the module docstring); ``y_true: [B, H, T]``
        is not needed (the head's loss is the engine's). ``sample_weight: [B]`` (passed by
        the engine with the estimator's ``sample_weight``) weights each window's terms, as
        it weights the head's loss. Consumes what ``forward`` kept, so each batch counts once.
        """
        if self._aux is None:
            raise ValueError(
                "DeepKoopman.auxiliary_loss needs the window of a forward pass in training "
                "mode; call net.train() and net(x) on the batch first."
            )
        states, z, k = self._aux
        self._aux = None
        weights = {"reconstruction": self.reconstruction_weight,
                   "linearity": self.linearity_weight, "prediction": self.prediction_weight}
        loss = z.new_zeros((), dtype=torch.promote_types(z.dtype, torch.float32))
        for name, value in self._terms(states, z, k, sample_weight).items():
            loss = loss + weights[name] * value
        return loss

    # ------------------------------------------------------------------ explanations
    def explain(self, x: Tensor, steps: int | None = None) -> dict[str, Tensor]:
        """The spectrum of ``K`` and the trajectory of the window in observables and states.

        Parameters
        ----------
        x : Tensor
            ``[B, window, n_features]``.
        steps : int or None, default=None
            Steps of the rollout; None means ``horizon`` (what the head reads).

        Returns
        -------
        dict of str to Tensor
            The spectrum, shared by every window, is repeated along the batch:

            * ``"eigenvalues"``: complex ``[B, L]``, by decreasing modulus;
            * ``"periods"``: ``2 pi / |arg lambda|`` in steps, ``[B, L]`` (``inf`` for a
              positive real eigenvalue, 2 for a negative one);
            * ``"decay_rates"``: ``-log |lambda|`` per step, ``[B, L]`` (> 0 when stable);
            * ``"half_lives"``: ``log 2 / decay_rate``, steps for a mode's amplitude to
              halve, ``[B, L]`` (negative: the doubling time of a growing mode).

            The trajectory of each window:

            * ``"latent"``: the observables of the window's states, ``[B, S, L]``;
            * ``"latent_forecast"``: ``K^h z_T``, ``h = 1..steps``, ``[B, steps, L]`` (with
              ``steps=None``, exactly what the head reads);
            * ``"reconstruction"``: the decoded window, last row of each decoded state,
              ``[B, S, n_features]``;
            * ``"state_forecast"``: the decoded rollout, last row of each decoded state,
              ``[B, steps, n_features]`` (the paper's prediction in the state space).
        """
        steps = self.horizon if steps is None else int(steps)
        if steps < 1:
            raise ValueError(f"DeepKoopman.explain needs steps >= 1; got steps={steps}.")
        batch, f = x.shape[0], self.n_features
        k = self.koopman_matrix()
        z = self.encoder(self._states(x))                                   # [B, S, L]
        rolled = self._rollout(z[:, -1], k, steps)                          # [B, steps, L]
        values = self.eigenvalues()                                         # [L] complex
        modulus, angle = values.abs(), values.angle().abs()
        decay = -torch.log(modulus)
        parts = {
            "eigenvalues": values,
            "periods": 2 * math.pi / angle,
            "decay_rates": decay,
            "half_lives": math.log(2) / decay,
        }
        parts = {name: v.unsqueeze(0).expand(batch, -1) for name, v in parts.items()}
        parts.update({
            "latent": z,
            "latent_forecast": rolled,
            "reconstruction": self.decoder(z)[..., -f:],
            "state_forecast": self.decoder(rolled)[..., -f:],
        })
        return parts

    def __getstate__(self):
        # The cached window holds autograd graphs, which neither pickle nor deep-copy.
        state = super().__getstate__()
        state["_aux"] = None
        return state
