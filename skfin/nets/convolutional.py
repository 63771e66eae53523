"""Convolutional nets: CNNLSTM, TCN and WaveNet over the past window.

Every convolution here is **causal**: the sequence is padded on the left only, by
``(kernel_size - 1) * dilation`` steps, so the output at step ``t`` reads inputs
``<= t`` and the output keeps the window's length (left padding is the same as Bai et
al.'s symmetric padding followed by a "chomp" of the right end, without computing the
chomped steps). Each net exposes ``features(x) -> [B, W, C]``, the per-step sequence its
convolutions produce before the readout, which is what the causality tests perturb.

Receptive field. A causal convolution with kernel ``k`` and dilation ``d`` looks
``(k - 1) d`` steps back, and stacked convolutions add their look-backs. With one
convolution per level and dilations ``1, 2, ..., 2^(L-1)`` the receptive field is
``1 + (k - 1)(2^L - 1)``. A TCN residual block (Bai et al., 2018) holds **two**
convolutions with the same dilation, so a TCN of ``L`` blocks sees
``1 + 2 (k - 1)(2^L - 1)`` steps; a WaveNet has one gated convolution per layer, repeated
over ``num_cycles`` cycles, so it sees ``1 + num_cycles (k - 1)(2^L - 1)``. Both compute it
with :func:`receptive_field` and warn when ``window`` is longer (the oldest steps would
be read but could never change the forecast).

Weight normalisation (Salimans and Kingma, 2016) is implemented by :class:`_CausalConv1d`
itself, ``w = g v / ||v||`` per output channel, which is what
``torch.nn.utils.parametrizations.weight_norm(conv, dim=0)`` computes. The torch
parametrization is not used because a parametrized module refuses to be pickled
(``RuntimeError: Serialization of parametrized modules is only supported through
state_dict()``), and skorch and scikit-learn pickle fitted estimators.

References
----------
Bai, Kolter and Koltun (2018), "An empirical evaluation of generic convolutional and
recurrent networks for sequence modeling", arXiv:1803.01271.
van den Oord et al. (2016), "WaveNet: a generative model for raw audio", arXiv:1609.03499.
Salimans and Kingma (2016), "Weight normalization", NeurIPS.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from skfin._deprecation import renamed
from skfin._warnings import warn
from skfin.nets._params import DROPOUT, POSITIVE, contract_doc
from skfin.nets.heads import make_head
from skfin.nets.recurrent import init_rnn_weights

__all__ = ["CNNLSTM", "TCN", "WaveNet", "receptive_field"]


def _check_positive(owner: str, **values: int) -> None:
    for name, value in values.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{owner} needs {name} to be an integer >= 1; got {name}={value!r}.")


def receptive_field(kernel_size: int, num_levels: int, convs_per_level: int = 1,
                    num_cycles: int = 1) -> int:
    """Steps of history that reach the last output of a stack of dilated causal convolutions.

    Dilations double per level (``1, 2, ..., 2^(num_levels-1)``) and the levels may be
    repeated ``num_cycles`` times; each level holds ``convs_per_level`` convolutions of the
    same dilation. The receptive field is
    ``1 + num_cycles * convs_per_level * (kernel_size - 1) * (2^num_levels - 1)``.

    Parameters
    ----------
    kernel_size : int
    num_levels : int
        Dilation levels (TCN blocks, or WaveNet layers per cycle).
    convs_per_level : int, default=1
        2 for a TCN residual block (Bai et al., 2018), 1 for a WaveNet layer.
    num_cycles : int, default=1
        Repetitions of the dilation schedule (WaveNet).

    Returns
    -------
    int

    Examples
    --------
    >>> receptive_field(kernel_size=3, num_levels=4)                      # one conv per level
    31
    >>> receptive_field(kernel_size=3, num_levels=4, convs_per_level=2)   # TCN blocks
    61
    >>> receptive_field(kernel_size=2, num_levels=5, num_cycles=2)        # WaveNet
    63
    """
    _check_positive("receptive_field", kernel_size=kernel_size, num_levels=num_levels,
                    convs_per_level=convs_per_level, num_cycles=num_cycles)
    return 1 + num_cycles * convs_per_level * (kernel_size - 1) * (2 ** num_levels - 1)


def _warn_if_window_exceeds(net: str, window: int, field: int, how: str) -> None:
    if window > field:
        warn(
            f"window={window} is longer than the {net}'s receptive field of {field} steps: "
            f"the oldest {window - field} steps of each window cannot change the forecast. "
            f"Raise {how}, or shorten window to {field}.",
            UserWarning,
        )


class _CausalConv1d(nn.Module):
    """Dilated causal ``Conv1d`` (left padding), optionally weight-normalised: ``[B, C, W]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 dilation: int = 1, weight_norm: bool = False):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation)
        self.weight_norm = weight_norm
        if weight_norm:
            # g starts at ||v|| so the initial weights equal the plain Conv1d's.
            self.weight_g = nn.Parameter(self.conv.weight.detach().norm(dim=(1, 2), keepdim=True))

    def weight(self) -> Tensor:
        """The effective kernel ``[C_out, C_in, k]``."""
        v = self.conv.weight
        if not self.weight_norm:
            return v
        return self.weight_g * v / v.norm(dim=(1, 2), keepdim=True)

    def forward(self, x: Tensor) -> Tensor:                   # x: [B, C_in, W]
        x = F.pad(x, (self.pad, 0))                           # [B, C_in, pad + W]
        return F.conv1d(x, self.weight(), self.conv.bias,
                        dilation=self.conv.dilation)          # [B, C_out, W]


class _TemporalBlock(nn.Module):
    """Bai et al.'s residual block: two causal convs (ReLU, dropout) plus a 1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int,
                 dropout: float, weight_norm: bool):
        super().__init__()
        self.conv1 = _CausalConv1d(in_channels, out_channels, kernel_size, dilation, weight_norm)
        self.conv2 = _CausalConv1d(out_channels, out_channels, kernel_size, dilation, weight_norm)
        self.dropout = nn.Dropout(dropout)
        self.downsample = (nn.Conv1d(in_channels, out_channels, 1)
                           if in_channels != out_channels else None)

    def forward(self, x: Tensor) -> Tensor:                          # x: [B, C_in, W]
        out = self.dropout(F.relu(self.conv1(x)))                    # [B, C, W]
        out = self.dropout(F.relu(self.conv2(out)))                  # [B, C, W]
        res = x if self.downsample is None else self.downsample(x)   # [B, C, W]
        return F.relu(out + res)


class _GatedLayer(nn.Module):
    """WaveNet layer: ``z = tanh(W_f * x) . sigmoid(W_g * x)``; 1x1 convs to skip and residual."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, residual: bool):
        super().__init__()
        self.conv = _CausalConv1d(channels, 2 * channels, kernel_size, dilation)
        self.skip = nn.Conv1d(channels, channels, 1)
        # The last layer's residual output is never read, so it has no residual conv.
        self.residual = nn.Conv1d(channels, channels, 1) if residual else None

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:     # x: [B, C, W]
        f, g = self.conv(x).chunk(2, dim=1)                    # [B, C, W] each
        z = torch.tanh(f) * torch.sigmoid(g)                   # [B, C, W]
        out = x if self.residual is None else x + self.residual(z)
        return out, self.skip(z)                               # [B, C, W], [B, C, W]


@contract_doc
class CNNLSTM(nn.Module):
    """Convolutional front end (Conv1d, BatchNorm, ReLU, max-pooling) feeding an LSTM.

    A causal convolution extracts local patterns at every step; max-pooling over blocks of
    ``pool_size`` steps shortens the sequence the LSTM has to read; the LSTM's last step
    feeds the head. Pooling blocks are aligned to the **end** of the window (the sequence
    is left-padded by repeating its first step up to a multiple of ``pool_size``), so the
    last block always holds the most recent steps and any ``window >= 1`` works: the LSTM
    reads ``ceil(window / pool_size)`` steps.

    Parameters
    ----------
    {contract}
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

    Notes
    -----
    BatchNorm normalises with batch statistics while training, so there a step's features
    depend on the other steps and windows of the batch; in evaluation mode (prediction) it
    uses running statistics and each step depends only on its own past. As with any
    BatchNorm net, training needs more than one value per channel in a batch
    (``batch * window > 1``).

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> ohlc = load_sp500()[["Open", "High", "Low", "Close"]].to_numpy()[-88:]
    >>> x = torch.tensor(ohlc, dtype=torch.float32).log().diff(dim=0).view(3, 29, 4) * 100
    >>> net = CNNLSTM(n_features=4, window=29, horizon=5, n_targets=1, channels=16,
    ...               pool_size=3, output="gaussian")   # the LSTM reads ceil(29 / 3) = 10 steps
    >>> net(x).shape                                # [B, H, T, (loc, scale)]
    torch.Size([3, 5, 1, 2])
    >>> net.features(x).shape                       # per-step conv features [B, W, C]
    torch.Size([3, 29, 16])
    """

    _parameter_constraints: dict = {
        "channels": POSITIVE, "kernel_size": POSITIVE, "pool_size": POSITIVE,
        "hidden_size": POSITIVE, "num_layers": POSITIVE, "dropout": DROPOUT,
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 channels: int = 64, kernel_size: int = 3, pool_size: int = 1,
                 hidden_size: int = 32, num_layers: int = 1, dropout: float = 0.1):
        super().__init__()
        _check_positive("CNNLSTM", channels=channels, kernel_size=kernel_size,
                        pool_size=pool_size)
        self.pool_size = pool_size
        self.conv = _CausalConv1d(n_features, channels, kernel_size)
        self.norm = nn.BatchNorm1d(channels)
        self.lstm = nn.LSTM(channels, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, hidden_size, horizon, n_targets, quantiles)
        init_rnn_weights(self.lstm)

    def _conv(self, x: Tensor) -> Tensor:                       # x: [B, W, F]
        z = self.conv(x.transpose(1, 2))                        # [B, C, W]
        return F.relu(self.norm(z))                             # [B, C, W]

    def features(self, x: Tensor) -> Tensor:
        """Per-step convolutional features before pooling, ``[B, W, C]``."""
        return self._conv(x).transpose(1, 2)                    # [B, W, C]

    def forward(self, x: Tensor) -> Tensor:                     # x: [B, W, F]
        z = self._conv(x)                                       # [B, C, W]
        if self.pool_size > 1:
            extra = -z.shape[-1] % self.pool_size
            z = F.pad(z, (extra, 0), mode="replicate")          # [B, C, p * ceil(W / p)]
            z = F.max_pool1d(z, self.pool_size)                 # [B, C, ceil(W / p)]
        h, _ = self.lstm(z.transpose(1, 2))                     # [B, W', d]
        return self.head(self.dropout(h[:, -1]))                # [B, H, T, P]


@renamed(hidden_size="channels")
@contract_doc
class TCN(nn.Module):
    """Temporal convolutional network (Bai et al., 2018) with a last-step readout.

    ``num_blocks`` residual blocks with dilations ``1, 2, 4, ..., 2^(num_blocks-1)``; each
    block holds two dilated causal convolutions (ReLU, dropout, optional weight
    normalisation) and a shortcut, a 1x1 convolution where the channel count changes (the
    first block). The last step of the top block feeds the head.

    The receptive field is ``1 + 2 (kernel_size - 1)(2^num_blocks - 1)`` steps (two
    convolutions per block, see :func:`receptive_field`); a ``window`` longer than that
    triggers a ``UserWarning`` at construction, because the extra history is never used.

    Parameters
    ----------
    {contract}
    channels : int, default=16
        Channels of every residual block.
    kernel_size : int, default=3
    num_blocks : int, default=4
        Residual blocks of two causal convolutions each; block ``i`` has dilation ``2^i``.
    dropout : float, default=0.1
        After each convolution and before the head.
    weight_norm : bool, default=True
        Weight-normalise the convolutions.

    Attributes
    ----------
    receptive_field : int
        Steps of history that can reach the forecast.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-121:], dtype=torch.float32)
    >>> x = (100 * close.log().diff()).view(2, 60, 1)          # [B=2, W=60, F=1]
    >>> net = TCN(n_features=1, window=60, horizon=5, n_targets=1, output="quantile")
    >>> net.receptive_field, net(x).shape
    (61, torch.Size([2, 5, 1, 21]))
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = TCN(n_features=1, window=60, horizon=1, n_targets=1, num_blocks=2)
    >>> print(caught[0].message)
    window=60 is longer than the TCN's receptive field of 13 steps: the oldest 47 ...
    """

    _parameter_constraints: dict = {
        "channels": POSITIVE, "kernel_size": POSITIVE, "num_blocks": POSITIVE,
        "dropout": DROPOUT, "weight_norm": ["boolean"],
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 channels: int = 16, kernel_size: int = 3, num_blocks: int = 4,
                 dropout: float = 0.1, weight_norm: bool = True):
        super().__init__()
        _check_positive("TCN", channels=channels, kernel_size=kernel_size,
                        num_blocks=num_blocks)
        self.receptive_field = receptive_field(kernel_size, num_blocks, convs_per_level=2)
        _warn_if_window_exceeds("TCN", window, self.receptive_field, "num_blocks or kernel_size")
        self.blocks = nn.Sequential(*(
            _TemporalBlock(n_features if i == 0 else channels, channels, kernel_size,
                           2 ** i, dropout, weight_norm)
            for i in range(num_blocks)))
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, channels, horizon, n_targets, quantiles)

    def features(self, x: Tensor) -> Tensor:                    # x: [B, W, F]
        """Per-step output of the top block, ``[B, W, C]``."""
        z = self.blocks(x.transpose(1, 2))                      # [B, C, W]
        return z.transpose(1, 2)                                # [B, W, C]

    def forward(self, x: Tensor) -> Tensor:                     # x: [B, W, F]
        z = self.features(x)[:, -1]                             # [B, C]
        return self.head(self.dropout(z))                       # [B, H, T, P]


@renamed(hidden_size="channels")
@contract_doc
class WaveNet(nn.Module):
    """WaveNet-style stack of gated, dilated causal convolutions with skip connections.

    A 1x1 convolution lifts the input to ``channels`` channels; then ``num_cycles``
    cycles of ``num_layers`` gated layers with dilations ``1, 2, ..., 2^(num_layers-1)``
    each compute ``z = tanh(W_f * h) . sigmoid(W_g * h)``, add a 1x1 projection of ``z`` to
    the residual stream and send another to the skip path. The sum of all skips goes
    through ReLU, 1x1 convolution, ReLU; its last step feeds the head.

    The receptive field is ``1 + num_cycles (kernel_size - 1)(2^num_layers - 1)`` steps; a
    longer ``window`` triggers a ``UserWarning`` at construction.

    Parameters
    ----------
    {contract}
    channels : int, default=16
        Channels of the residual and skip paths.
    kernel_size : int, default=2
    num_layers : int, default=5
        Gated layers per dilation cycle; layer ``i`` has dilation ``2^i``.
    num_cycles : int, default=2
        Repetitions of the dilation cycle.
    dropout : float, default=0.1
        Before the head.

    Attributes
    ----------
    receptive_field : int
        Steps of history that can reach the forecast.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_vix
    >>> vix = torch.tensor(load_vix().ffill().to_numpy()[-64:], dtype=torch.float32)
    >>> x = vix.log().view(2, 32, 1)                            # [B=2, W=32, F=1]
    >>> net = WaveNet(n_features=1, window=32, horizon=3, n_targets=1, output="student_t")
    >>> net.receptive_field, net(x).shape
    (63, torch.Size([2, 3, 1, 3]))
    >>> net.features(x).shape                                   # [B, W, C]
    torch.Size([2, 32, 16])
    """

    _parameter_constraints: dict = {
        "channels": POSITIVE, "kernel_size": POSITIVE, "num_layers": POSITIVE,
        "num_cycles": POSITIVE, "dropout": DROPOUT,
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 channels: int = 16, kernel_size: int = 2, num_layers: int = 5,
                 num_cycles: int = 2, dropout: float = 0.1):
        super().__init__()
        _check_positive("WaveNet", channels=channels, kernel_size=kernel_size,
                        num_layers=num_layers, num_cycles=num_cycles)
        self.receptive_field = receptive_field(kernel_size, num_layers, num_cycles=num_cycles)
        _warn_if_window_exceeds("WaveNet", window, self.receptive_field,
                                "num_layers, num_cycles or kernel_size")
        depth = num_layers * num_cycles
        self.inp = nn.Conv1d(n_features, channels, 1)
        self.layers = nn.ModuleList(
            _GatedLayer(channels, kernel_size, 2 ** (i % num_layers), residual=i < depth - 1)
            for i in range(depth))
        self.out = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, channels, horizon, n_targets, quantiles)

    def features(self, x: Tensor) -> Tensor:                    # x: [B, W, F]
        """Per-step output of the skip path, ``[B, W, C]``."""
        h = self.inp(x.transpose(1, 2))                         # [B, C, W]
        skips = torch.zeros_like(h)
        for layer in self.layers:
            h, skip = layer(h)                                  # [B, C, W] each
            skips = skips + skip
        z = F.relu(self.out(F.relu(skips)))                     # [B, C, W]
        return z.transpose(1, 2)                                # [B, W, C]

    def forward(self, x: Tensor) -> Tensor:                     # x: [B, W, F]
        z = self.features(x)[:, -1]                             # [B, C]
        return self.head(self.dropout(z))                       # [B, H, T, P]
