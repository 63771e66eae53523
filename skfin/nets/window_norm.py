"""Per-window normalisation for every net of the contract (RevIN-style), in one place.

A net fitted on globally standardised *levels* (an index, a price, passenger counts) learns
the levels of its fit period: when the series trends out of that range, its forecasts drift
back towards the training mean. Normalising each window by its own statistics removes the
level and the scale from what the net sees, and mapping the outputs back with the same
statistics puts them on the window's level. This is reversible instance normalisation
(Kim et al., 2022), which PatchTST builds in (:class:`skfin.nets.RevIN`); :class:`WindowNorm`
gives it to any net without touching the net:

* every input channel of every window is standardised by its own mean and standard
  deviation over the window, ``z = (x - loc) / sqrt(var + eps)`` (NaN, for nets that read
  missing values, is left out of both statistics and stays NaN);
* the wrapped net forecasts on that scale: ``params = net(z, ...)``, ``[B, H, T, P]``;
* the head's own affine map (:meth:`skfin.nets.heads._Head.denormalise`) maps them back with
  the statistics of the **first n_targets input channels** (the forecaster puts ``y``
  first): point values and quantiles are scaled and shifted, a distribution's location is
  scaled and shifted and its scale multiplied, so every head keeps its constraints.

The statistics are not differentiated through (as in RevIN), and there is no learnable
affine map of the inputs: the net's first layer already is one. The estimator faces reach it
through the forecaster's ``standardize="window"``; the sklearn face has no such option, as
its target need not be an input channel (see :class:`skfin.transformations.LogRatio` for the
regressor-side way to remove a level). Written here: RevIN implementations
(``neuralforecast``, ``tsai``) are built into their own models, not wrappers for any module.

References
----------
Kim, Kim, Tae, Park, Choi and Choo (2022), "Reversible instance normalization for accurate
time-series forecasting against distribution shift", ICLR.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from skfin.nets.heads import head_class

__all__ = ["WindowNorm", "window_statistics"]


def window_statistics(x: Tensor, eps: float = 1e-5, *,
                      detach: bool = True) -> tuple[Tensor, Tensor]:
    """Each window's per-channel mean and ``sqrt(var + eps)`` over time, NaN left out.

    Parameters
    ----------
    x : Tensor
        Windows ``[B, window, C]``; NaN marks a missing value.
    eps : float, default=1e-5
        Added to the (population) variance, so a flat window has a finite scale.
    detach : bool, default=True
        Return the statistics detached from the graph (as RevIN's reference code: no
        gradient flows through them in training). False keeps the exact gradient of the
        normalised window, which attribution methods (:mod:`skfin.explain`) need.

    Returns
    -------
    loc, scale : Tensor
        ``[B, C]`` each; a channel with no observed value in a window gets 0 and 1.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_wti
    >>> oil = torch.tensor(load_wti().to_numpy()[-40:], dtype=torch.float64).view(2, 20, 1)
    >>> loc, scale = window_statistics(oil)                   # two 20-day windows of WTI
    >>> torch.allclose(loc, oil.nanmean(dim=1)), loc.shape
    (True, torch.Size([2, 1]))
    """
    observed = ~torch.isnan(x)
    count = observed.sum(dim=1).clamp(min=1)                            # [B, C]
    filled = torch.where(observed, x, torch.zeros_like(x))
    loc = filled.sum(dim=1) / count
    centred = torch.where(observed, x - loc[:, None], torch.zeros_like(x))
    var = (centred ** 2).sum(dim=1) / count
    any_observed = observed.any(dim=1)
    loc = torch.where(any_observed, loc, torch.zeros_like(loc))
    scale = torch.where(any_observed, torch.sqrt(var + eps), torch.ones_like(var))
    return (loc.detach(), scale.detach()) if detach else (loc, scale)


class WindowNorm(nn.Module):
    """Any net of the contract, reading windows normalised by their own statistics.

    Parameters
    ----------
    module : type of torch.nn.Module
        The net class to wrap (e.g. :class:`skfin.nets.LSTM`, or
        :class:`skfin.nets.Covariates`); built here with ``net_kwargs``.
    eps : float, default=1e-5
        See ``window_statistics``.
    **net_kwargs
        The wrapped net's arguments; ``n_features``, ``n_targets`` and ``output`` are read
        here too (the targets are the first ``n_targets`` channels, so
        ``n_targets <= n_features``).

    Attributes
    ----------
    net : torch.nn.Module
        The wrapped net; ``head``, ``explain`` and any auxiliary loss are its own.

    Examples
    --------
    A level series that left its range: the last 30 trading days of WTI in two windows
    15 dollars apart. An untrained LSTM's forecasts follow each window's level.

    >>> import torch
    >>> from skfin.datasets import load_wti
    >>> from skfin.nets import LSTM
    >>> oil = torch.tensor(load_wti().dropna().to_numpy(), dtype=torch.float32)
    >>> x = torch.stack([oil[-30:], oil[-530:-500]]).unsqueeze(-1)      # [2, 30, 1]
    >>> net = WindowNorm(LSTM, n_features=1, window=30, horizon=5, n_targets=1).eval()
    >>> forecast = net(x)[..., 0, 0]                                   # [2, 5]
    >>> level = x.mean(dim=1)                                          # [2, 1]
    >>> bool(((forecast - level).abs() < 3 * x.std(dim=1)).all())
    True
    """

    #: Detach the window statistics from the graph (training); skfin.explain turns it off
    #: on an instance for the exact input gradients (the forward values are the same).
    detach_statistics = True

    def __init__(self, module: type[nn.Module], *, eps: float = 1e-5, **net_kwargs):
        super().__init__()
        n_targets, n_features = net_kwargs["n_targets"], net_kwargs["n_features"]
        if n_targets > n_features:
            raise ValueError(
                f"WindowNorm maps the outputs back with the statistics of the first "
                f"n_targets={n_targets} input channels, but the windows have only "
                f"n_features={n_features}: the targets must be input channels."
            )
        self.net = module(**net_kwargs)
        self.eps, self.n_targets = eps, n_targets
        self.output = net_kwargs.get("output", "point")

    @property
    def head(self) -> nn.Module:
        """The wrapped net's head (point forecasts and quantiles are read through it)."""
        return self.net.head

    @property
    def auxiliary_loss(self):
        """The wrapped net's auxiliary loss, where it has one (on the normalised scale)."""
        return self.net.auxiliary_loss

    def explain(self, x: Tensor, *args, **kwargs) -> dict[str, Tensor]:
        """The wrapped net's explanation of the normalised window."""
        loc, scale = window_statistics(x, self.eps)
        return self.net.explain((x - loc[:, None]) / scale[:, None], *args, **kwargs)

    def forward(self, x: Tensor, *args, **inputs: Tensor) -> Tensor:       # x: [B, W, F]
        loc, scale = window_statistics(x, self.eps, detach=self.detach_statistics)  # [B, F]
        params = self.net((x - loc[:, None]) / scale[:, None], *args, **inputs)
        return head_class(self.output).denormalise(params, loc[:, :self.n_targets],
                                                   scale[:, :self.n_targets])
