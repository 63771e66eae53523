"""Attention family: Transformer encoder, PatchTST and Autoformer over the past window.

* :class:`Transformer` (Vaswani et al., 2017): the input is projected to ``d_model`` and
  multiplied by ``sqrt(d_model)``, fixed sinusoidal positions are added, and a stack of
  ``torch.nn.TransformerEncoderLayer`` (pre- or post-norm, optional causal mask) encodes the
  window; the last step or the mean over steps feeds the head.
* :class:`PatchTST` (Nie et al., 2023): every input channel is normalised per window
  (RevIN), cut into patches of ``patch_len`` steps every ``stride`` steps and encoded by one
  Transformer shared by all channels (channel independence); each channel's flattened
  patch encodings are projected to a per-channel representation.
* :class:`Autoformer` (Wu et al., 2021): series decomposition blocks inside every layer, and
  an Auto-Correlation mechanism (FFT-based period discovery plus time-delay aggregation) in
  place of self-attention; an encoder-decoder whose decoder starts from the decomposed
  latter half of the window and accumulates the trend.

What is hand-written and why. The Transformer and PatchTST encoders are PyTorch's own
``nn.TransformerEncoder`` (fused attention, ``scaled_dot_product_attention``). Sinusoidal
positions, RevIN, patching, the moving-average decomposition and Auto-Correlation have no
implementation in torch or in a well-kept dependency of skfin, so they are written here, each
a few lines, following the papers and their reference code (github.com/yuqinie98/PatchTST,
github.com/thuml/Autoformer); the differences from that code are listed in each class.

All three nets read only the past window, so attending in both directions inside the window
leaks nothing from the future; ``Transformer(causal=True)`` additionally restricts each step
to the steps before it.

References
----------
Vaswani et al. (2017), "Attention is all you need", NeurIPS.
Xiong et al. (2020), "On layer normalization in the Transformer architecture", ICML.
Kim et al. (2022), "Reversible instance normalization for accurate time-series forecasting
against distribution shift", ICLR.
Nie, Nguyen, Sinthong and Kalagnanam (2023), "A time series is worth 64 words: long-term
forecasting with Transformers", ICLR.
Wu, Xu, Wang and Long (2021), "Autoformer: decomposition Transformers with auto-correlation
for long-term series forecasting", NeurIPS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from skfin._warnings import warn
from skfin.nets.convolutional import _check_positive
from skfin.nets._params import DROPOUT, POSITIVE, contract_doc, options, real
from skfin.nets.heads import make_head

__all__ = ["Transformer", "PatchTST", "Autoformer", "RevIN", "sinusoidal_encoding",
           "series_decomposition", "autocorrelation"]


def _check_heads(owner: str, d_model: int, n_heads: int) -> None:
    if d_model % n_heads:
        raise ValueError(
            f"{owner} needs d_model divisible by n_heads (each head gets d_model / n_heads "
            f"dimensions); got d_model={d_model}, n_heads={n_heads}. Use e.g. "
            f"d_model={n_heads * max(1, round(d_model / n_heads))}."
        )


def _encoder(d_model: int, n_heads: int, num_layers: int, dim_feedforward: int,
             dropout: float, norm_first: bool, activation: str,
             ff_dropout: bool) -> nn.TransformerEncoder:
    """``nn.TransformerEncoder`` with dropout where the papers put it.

    torch's layer also drops attention weights; neither Vaswani et al. nor PatchTST's
    reference code (``attn_dropout=0``) does, and without it the attention runs in torch's
    fused kernel. Dropout inside the feed-forward block is PatchTST's (``ff_dropout=True``),
    not Vaswani et al.'s, whose dropout sits on each sub-layer's output only.
    """
    layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward, dropout,
                                       activation=activation, batch_first=True,
                                       norm_first=norm_first)
    layer.self_attn.dropout = 0.0
    if not ff_dropout:
        layer.dropout = nn.Identity()
    # A pre-norm stack ends with a LayerNorm (the residual stream is never normalised
    # otherwise); a post-norm stack already ends with one.
    return nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model) if norm_first
                                 else None, enable_nested_tensor=False)


# --------------------------------------------------------------------------------------
# Transformer
# --------------------------------------------------------------------------------------
def sinusoidal_encoding(length: int, d_model: int) -> Tensor:
    """Vaswani et al.'s fixed positional encoding, ``[length, d_model]``.

    ``PE[t, 2i] = sin(t / 10000^(2i / d_model))`` and ``PE[t, 2i + 1] = cos(same)``.

    Examples
    --------
    >>> pe = sinusoidal_encoding(60, 32)
    >>> pe.shape, pe[0, :4].tolist()
    (torch.Size([60, 32]), [0.0, 1.0, 0.0, 1.0])
    """
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)          # [L, 1]
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64)
                     * (-math.log(10000.0) / d_model))                          # [ceil(d/2)]
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq[: d_model // 2])
    return pe.float()


@contract_doc
class Transformer(nn.Module):
    """Transformer encoder over the past window (Vaswani et al., 2017).

    Each step's features are projected to ``d_model`` and multiplied by ``sqrt(d_model)``
    (as for the paper's embeddings), the sinusoidal positional encoding is added, dropout
    is applied, and ``num_layers`` encoder layers (multi-head self-attention and a ReLU
    feed-forward block, each with a residual connection and layer normalisation) encode
    the window. ``readout="last"`` hands the last step's encoding to the head, ``"mean"``
    the mean over steps.

    Parameters
    ----------
    {contract}
    d_model : int, default=32
        Width of the encoder; must be divisible by ``n_heads``.
    n_heads : int, default=4
        Attention heads per layer.
    num_layers : int, default=2
        Encoder layers.
    dim_feedforward : int, default=64
        Width of each layer's feed-forward block.
    dropout : float, default=0.1
        On the embedded input (positions included), on each sub-layer's output before
        the residual sum (Vaswani et al.'s residual dropout), and before the head.
    norm : {"pre", "post"}, default="pre"
        Where layer normalisation sits: "post" is the paper's ``LayerNorm(x + f(x))``;
        "pre" is ``x + f(LayerNorm(x))`` with a final LayerNorm, which trains stably without
        a learning-rate warm-up (Xiong et al., 2020), and skfin's default schedule has none.
    readout : {"last", "mean"}, default="last"
        The head reads the last step's encoding, or the mean over steps.
    causal : bool, default=False
        Mask attention so that step ``t`` attends to steps ``<= t`` only. The window holds
        only the past, so the unmasked encoder leaks nothing either; the mask makes each
        step's encoding a function of its own past, like a decoder-only model.

    Notes
    -----
    Differences from the paper: no decoder (the head forecasts all horizon steps at once
    from the encoding, as every skfin net does), and pre-norm by default (see ``norm``).
    Attention costs ``O(window^2)`` time per layer (``benchmarks/attention_scaling.py``).

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-121:], dtype=torch.float32)
    >>> x = (100 * close.log().diff()).view(2, 60, 1)          # [B=2, W=60, F=1]
    >>> net = Transformer(n_features=1, window=60, horizon=5, n_targets=1, output="quantile")
    >>> net(x).shape
    torch.Size([2, 5, 1, 21])
    >>> net.features(x).shape                                   # per-step encodings [B, W, d]
    torch.Size([2, 60, 32])
    """

    _parameter_constraints: dict = {
        "d_model": POSITIVE, "n_heads": POSITIVE, "num_layers": POSITIVE,
        "dim_feedforward": POSITIVE, "dropout": DROPOUT, "norm": [options("pre", "post")],
        "readout": [options("last", "mean")], "causal": ["boolean"],
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 d_model: int = 32, n_heads: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 64, dropout: float = 0.1, norm: str = "pre",
                 readout: str = "last", causal: bool = False):
        super().__init__()
        _check_positive("Transformer", d_model=d_model, n_heads=n_heads,
                        num_layers=num_layers, dim_feedforward=dim_feedforward)
        _check_heads("Transformer", d_model, n_heads)
        if norm not in ("pre", "post"):
            raise ValueError(f"Transformer needs norm='pre' or 'post'; got norm={norm!r}.")
        if readout not in ("last", "mean"):
            raise ValueError(
                f"Transformer needs readout='last' or 'mean'; got readout={readout!r}.")
        self.readout = readout
        self.causal = causal
        self.scale = math.sqrt(d_model)
        self.proj = nn.Linear(n_features, d_model)
        self.register_buffer("pe", sinusoidal_encoding(window, d_model))
        self.embed_dropout = nn.Dropout(dropout)
        self.encoder = _encoder(d_model, n_heads, num_layers, dim_feedforward, dropout,
                                norm_first=norm == "pre", activation="relu", ff_dropout=False)
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, d_model, horizon, n_targets, quantiles)

    def features(self, x: Tensor) -> Tensor:                     # x: [B, W, F]
        """Per-step encodings of the top layer, ``[B, W, d_model]``."""
        steps = x.shape[1]
        h = self.proj(x) * self.scale + self.pe[:steps]          # [B, W, d]
        h = self.embed_dropout(h)
        if not self.causal:
            return self.encoder(h)                               # [B, W, d]
        mask = nn.Transformer.generate_square_subsequent_mask(steps, device=x.device,
                                                              dtype=h.dtype)  # [W, W]
        return self.encoder(h, mask=mask, is_causal=True)        # [B, W, d]

    def forward(self, x: Tensor) -> Tensor:                      # x: [B, W, F]
        h = self.features(x)                                     # [B, W, d]
        z = h[:, -1] if self.readout == "last" else h.mean(dim=1)   # [B, d]
        return self.head(self.dropout(z))                        # [B, H, T, P]


# --------------------------------------------------------------------------------------
# PatchTST
# --------------------------------------------------------------------------------------
class RevIN(nn.Module):
    """Reversible instance normalisation (Kim et al., 2022) over the time axis.

    :meth:`normalise` standardises every channel of every window by its own mean and
    standard deviation, ``(x - mean) / sqrt(var + eps)``, then (``affine=True``) applies a
    learnable per-channel ``weight * z + bias``; it returns the statistics, which
    :meth:`denormalise` uses to invert both steps. Nothing is stored on the module between
    calls, so one module serves any number of batches and threads.

    Parameters
    ----------
    n_channels : int
    affine : bool, default=True
        Learn a per-channel weight (initialised to 1) and bias (initialised to 0).
    eps : float, default=1e-5
        Added to the variance, so a flat window gives finite values.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> ohlc = load_sp500()[["Open", "High", "Low", "Close"]].to_numpy()[-60:]
    >>> x = torch.tensor(ohlc, dtype=torch.float64).view(3, 20, 4)   # [B, L, C] price levels
    >>> revin = RevIN(4).double()
    >>> z, loc, scale = revin.normalise(x)
    >>> z.mean(dim=1).abs().max() < 1e-9, loc.shape
    (tensor(True), torch.Size([3, 4]))
    >>> torch.allclose(revin.denormalise(z, loc, scale), x)
    True
    """

    #: Detach the statistics from the graph (the reference code's training); skfin.explain
    #: turns it off on an instance for the exact input gradients (same forward values).
    detach_statistics = True

    def __init__(self, n_channels: int, affine: bool = True, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(n_channels))
            self.bias = nn.Parameter(torch.zeros(n_channels))

    def normalise(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # x: [B, L, C]
        """Return ``(z, loc, scale)``: ``z`` like ``x``, ``loc`` and ``scale`` ``[B, C]``."""
        loc = x.mean(dim=1)                                           # [B, C]
        scale = torch.sqrt(x.var(dim=1, unbiased=False) + self.eps)   # [B, C]
        if self.detach_statistics:
            loc, scale = loc.detach(), scale.detach()
        z = (x - loc[:, None]) / scale[:, None]                       # [B, L, C]
        if self.affine:
            z = z * self.weight + self.bias
        return z, loc, scale

    def denormalise(self, z: Tensor, loc: Tensor, scale: Tensor) -> Tensor:  # z: [B, L', C]
        """Invert :meth:`normalise` for values on the channels' normalised scale."""
        if self.affine:
            z = (z - self.bias) / (self.weight + self.eps ** 2)
        return z * scale[:, None] + loc[:, None]


@contract_doc
class PatchTST(nn.Module):
    """PatchTST (Nie et al., 2023): channel-independent patch Transformer with RevIN.

    1. RevIN (``revin=True``): each channel of each window is standardised by its own mean
       and standard deviation, then scaled by a learnable per-channel affine
       (``revin_affine=True``).
    2. Patching: each channel's series is padded at the end by repeating its last value
       ``stride`` times (``padding_patch="end"``) and cut into patches of ``patch_len``
       steps every ``stride`` steps: ``n_patches = floor((window - patch_len) / stride) + 1``,
       plus 1 with end padding.
    3. Channel independence: every channel's patches are embedded by one linear map to
       ``d_model``, a learnable positional embedding is added, and one Transformer encoder
       shared by all channels encodes them; channels never meet inside the encoder.
    4. Flatten head: each channel's ``[n_patches, d_model]`` encodings are flattened and
       projected (one projection shared by the channels) to a ``d_model`` representation
       per channel (:meth:`channel_features`); the channels' representations are
       concatenated and read by the shared head.
    5. De-normalisation (``revin=True``): the head's parameters are learned on the
       normalised scale of the targets and mapped back with the statistics of the **first
       n_targets input channels** (``skfin.nets.heads._Head.denormalise``: point values
       and quantiles are scaled and shifted; a distribution's location is scaled and
       shifted and its scale multiplied).

    Parameters
    ----------
    {contract}
    patch_len : int, default=16
        Steps per patch. A window shorter than ``patch_len`` is one patch of ``window``
        steps (with a ``UserWarning``).
    stride : int, default=8
        Steps between the starts of consecutive patches.
    padding_patch : {"end"} or None, default="end"
        Repeat each channel's last value ``stride`` times at the end, adding one patch
        with the most recent steps.
    d_model : int, default=32
        Width of the patch encodings; must be divisible by ``n_heads``.
    n_heads : int, default=4
        Attention heads per layer.
    num_layers : int, default=2
        Encoder layers (shared by all channels).
    dim_feedforward : int, default=64
        Width of each layer's feed-forward block.
    dropout : float, default=0.1
        On the patch embeddings, on each sub-layer's output and inside the feed-forward
        block (not on the attention weights, as in the reference code), and on the
        per-channel representations before the head.
    revin : bool, default=True
        Normalise each window's channels (RevIN) and de-normalise the outputs with the
        first ``n_targets`` channels' statistics. This is right when the targets *are* the
        first input channels, as in :class:`skfin.forecasting.PatchTSTForecaster` (it puts
        ``y`` first and exogenous ``X`` after). When the target is not an input channel (the
        sklearn face), the outputs would be mapped back with an unrelated channel's
        statistics: use ``revin=False`` there (the regressor's default), which feeds the
        series to the patches unnormalised and leaves the head's outputs as they are.
    revin_affine : bool, default=True
        With ``revin=True``, learn a per-channel affine map of the normalised inputs.

    Raises
    ------
    ValueError
        With ``revin=True`` and ``n_targets > n_features``: the targets cannot be among the
        input channels, so there are no statistics to de-normalise them with.

    Notes
    -----
    Differences from the reference code (github.com/yuqinie98/PatchTST) and why:

    * the encoder is ``torch.nn.TransformerEncoder`` with LayerNorm, not the reference's
      BatchNorm encoder with residual attention scores: LayerNorm keeps each window's
      forecast independent of the other windows in the batch, in training as in
      prediction, and reuses torch's fused attention;
    * the flatten head projects each channel to ``d_model`` values rather than straight to
      ``horizon`` values, and the shared head reads all channels together, because a
      skfin head may need several parameters per step and the sklearn face's target is not
      one of the input channels;
    * RevIN's learnable affine is inverted on the input side only: the head's own linear
      map already expresses any affine map of the outputs, and dividing the head's
      quantiles or scales by an unconstrained learned weight could reorder the quantiles or
      flip the sign of a scale.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> ohlc = load_sp500()[["Close", "Open", "High", "Low"]].to_numpy()[-128:]
    >>> x = torch.tensor(ohlc, dtype=torch.float32).view(2, 64, 4)     # prices, Close first
    >>> net = PatchTST(n_features=4, window=64, horizon=5, n_targets=1, output="gaussian")
    >>> net.n_patches                       # floor((64 - 16) / 8) + 1 + 1 (end padding)
    8
    >>> params = net(x)                     # [B, H, T, (loc, scale)] in price units
    >>> params.shape, bool((params[..., 1] > 0).all())
    (torch.Size([2, 5, 1, 2]), True)
    >>> net.channel_features(x).shape        # per-channel representations [B, C, d]
    torch.Size([2, 4, 32])
    """

    _parameter_constraints: dict = {
        "patch_len": POSITIVE, "stride": POSITIVE, "padding_patch": [options("end"), None],
        "d_model": POSITIVE, "n_heads": POSITIVE, "num_layers": POSITIVE,
        "dim_feedforward": POSITIVE, "dropout": DROPOUT, "revin": ["boolean"],
        "revin_affine": ["boolean"],
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 patch_len: int = 16, stride: int = 8, padding_patch: str | None = "end",
                 d_model: int = 32, n_heads: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 64, dropout: float = 0.1, revin: bool = True,
                 revin_affine: bool = True):
        super().__init__()
        _check_positive("PatchTST", patch_len=patch_len, stride=stride, d_model=d_model,
                        n_heads=n_heads, num_layers=num_layers, dim_feedforward=dim_feedforward)
        _check_heads("PatchTST", d_model, n_heads)
        if padding_patch not in ("end", None):
            raise ValueError(
                f"PatchTST needs padding_patch='end' or None; got padding_patch={padding_patch!r}.")
        if revin and n_targets > n_features:
            raise ValueError(
                f"PatchTST with revin=True de-normalises the {n_targets} target(s) with the "
                f"statistics of the first n_targets input channels, but there are only "
                f"{n_features} input channel(s). Put the targets first among the inputs, or "
                "use revin=False."
            )
        if window < patch_len:
            warn(
                f"window={window} is shorter than patch_len={patch_len}: PatchTST uses one "
                f"patch of {window} steps. Lower patch_len (and stride) or lengthen window.",
                UserWarning,
            )
            patch_len = window
        self.patch_len, self.stride, self.padding_patch = patch_len, stride, padding_patch
        self.n_patches = (window - patch_len) // stride + 1 + (padding_patch == "end")
        self.n_targets = n_targets
        self.revin = RevIN(n_features, affine=revin_affine) if revin else None
        self.patch_embed = nn.Linear(patch_len, d_model)
        self.pos_embed = nn.Parameter(torch.empty(self.n_patches, d_model).uniform_(-0.02, 0.02))
        self.embed_dropout = nn.Dropout(dropout)
        self.encoder = _encoder(d_model, n_heads, num_layers, dim_feedforward, dropout,
                                norm_first=False, activation="gelu", ff_dropout=True)
        self.flatten_proj = nn.Linear(self.n_patches * d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, n_features * d_model, horizon, n_targets, quantiles)

    def patches(self, x: Tensor) -> Tensor:                         # x: [B, W, C]
        """Each channel's patches, ``[B, C, n_patches, patch_len]``."""
        series = x.transpose(1, 2)                                  # [B, C, W]
        if self.padding_patch == "end":
            series = F.pad(series, (0, self.stride), mode="replicate")   # [B, C, W + S]
        return series.unfold(-1, self.patch_len, self.stride)      # [B, C, N, P]

    def _encode(self, z: Tensor) -> Tensor:                         # z: [B, W, C]
        p = self.patches(z)                                         # [B, C, N, P]
        b, c, n, _ = p.shape
        e = self.patch_embed(p.reshape(b * c, n, -1)) + self.pos_embed   # [B*C, N, d]
        e = self.encoder(self.embed_dropout(e))                     # [B*C, N, d]
        return self.flatten_proj(e.reshape(b, c, -1))              # [B, C, d]

    def channel_features(self, x: Tensor) -> Tensor:                # x: [B, W, C]
        """Per-channel representations ``[B, C, d_model]`` (after RevIN, before the head)."""
        z = x if self.revin is None else self.revin.normalise(x)[0]
        return self._encode(z)

    def forward(self, x: Tensor) -> Tensor:                         # x: [B, W, C]
        if self.revin is None:
            h = self._encode(x)                                     # [B, C, d]
            return self.head(self.dropout(h.flatten(1)))            # [B, H, T, P]
        z, loc, scale = self.revin.normalise(x)                     # [B, W, C], [B, C] x 2
        params = self.head(self.dropout(self._encode(z).flatten(1)))    # [B, H, T, P]
        t = self.n_targets
        return self.head.denormalise(params, loc[:, :t], scale[:, :t])  # target units


# --------------------------------------------------------------------------------------
# Autoformer
# --------------------------------------------------------------------------------------
def _odd_kernel(kernel_size: int, length: int) -> int:
    """The largest odd kernel ``<= min(kernel_size, length)`` (at least 1)."""
    k = max(1, min(int(kernel_size), int(length)))
    return k if k % 2 else k - 1


def series_decomposition(x: Tensor, kernel_size: int = 25) -> tuple[Tensor, Tensor]:
    """Autoformer's series decomposition: ``trend = moving average``, ``seasonal = x - trend``.

    The moving average runs along the time axis (dimension 1 of ``x: [B, L, C]``) with
    ``(k - 1) / 2`` copies of the first and last values padded at each end (edge
    replication), so the trend has the length of ``x``. The kernel ``k`` is
    ``kernel_size`` clamped to the largest odd number ``<= L``, so short series work too
    (a series of length 1 or 2 has ``k = 1``: trend equals ``x``).

    Parameters
    ----------
    x : Tensor
        ``[B, L, C]``.
    kernel_size : int, default=25
        Length of the moving average (Autoformer's ``moving_avg``).

    Returns
    -------
    seasonal, trend : Tensor
        Both ``[B, L, C]``; ``seasonal + trend`` equals ``x`` up to rounding.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_airline
    >>> y = torch.tensor(load_airline().to_numpy()).log().view(1, 144, 1)
    >>> seasonal, trend = series_decomposition(y, kernel_size=13)
    >>> bool(torch.allclose(seasonal + trend, y, rtol=0, atol=1e-12))
    True
    >>> bool((trend[0, 12:] > trend[0, :-12]).all())      # the trend grows year on year
    True
    """
    k = _odd_kernel(kernel_size, x.shape[1])
    half = (k - 1) // 2
    padded = torch.cat([x[:, :1].expand(-1, half, -1), x,
                        x[:, -1:].expand(-1, half, -1)], dim=1)       # [B, L + k - 1, C]
    trend = F.avg_pool1d(padded.transpose(1, 2), k, stride=1).transpose(1, 2)   # [B, L, C]
    return x - trend, trend


def autocorrelation(queries: Tensor, keys: Tensor | None = None, *,
                    channel_mean: bool = False) -> Tensor:
    """Circular (cross-)correlation along time by FFT, as in Autoformer's Auto-Correlation.

    ``R[b, tau, c] = sum_t queries[b, (t + tau) mod L, c] * keys[b, t, c]`` for every delay
    ``tau = 0..L-1``, computed as ``irfft(rfft(q) * conj(rfft(k)))`` in ``O(L log L)``
    (Wiener-Khinchin). With ``keys=None`` it is the autocorrelation of ``queries``.

    Parameters
    ----------
    queries, keys : Tensor
        ``[B, L, C]``.
    channel_mean : bool, default=False
        Return the mean over channels, ``[B, L]``. It is taken in the frequency domain
        (the inverse FFT is linear), so one inverse transform replaces ``C`` of them.

    Returns
    -------
    Tensor
        ``[B, L, C]`` (or ``[B, L]`` with ``channel_mean``): the correlation at each delay.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_airline
    >>> y = torch.tensor(load_airline().to_numpy()).log().view(1, 144, 1)
    >>> seasonal, _ = series_decomposition(y, kernel_size=13)      # detrended log passengers
    >>> r = autocorrelation(seasonal)[0, :, 0]
    >>> int(r[1:72].argmax()) + 1                                  # the yearly period
    12
    """
    keys = queries if keys is None else keys
    length = queries.shape[1]
    q = torch.fft.rfft(queries, dim=1)                             # [B, L//2 + 1, C]
    k = torch.fft.rfft(keys, dim=1)
    spectrum = q * torch.conj(k)                                   # cross-power spectrum
    if channel_mean:
        return torch.fft.irfft(spectrum.mean(dim=-1), n=length, dim=1)   # [B, L]
    return torch.fft.irfft(spectrum, n=length, dim=1)              # [B, L, C]


def _top_k(factor: float, length: int) -> int:
    """Autoformer's number of delays ``int(factor * log L)``, clamped to ``[1, L]``."""
    return max(1, min(length, int(factor * math.log(length))))


class _AutoCorrelation(nn.Module):
    """Auto-Correlation layer: projections, period discovery, time-delay aggregation.

    The correlation between the projected queries and keys is averaged over channels; its
    ``top_k = int(factor * log L)`` largest delays are found per window, their correlations
    softmax-normalised, and the projected values rolled by each delay and summed with those
    weights (the reference code's per-sample "inference" aggregation, used here in training
    too).
    """

    def __init__(self, d_model: int, factor: float):
        super().__init__()
        self.factor = factor
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)

    def _project(self, queries: Tensor, keys: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        length, source = queries.shape[1], keys.shape[1]
        q, k, v = self.query(queries), self.key(keys), self.value(keys)
        if length > source:                                        # pad keys/values with zeros
            k = F.pad(k, (0, 0, 0, length - source))               # [B, L, d]
            v = F.pad(v, (0, 0, 0, length - source))
        else:                                                      # or keep their first L steps
            k, v = k[:, :length], v[:, :length]
        return q, k, v

    def delays(self, queries: Tensor, keys: Tensor) -> tuple[Tensor, Tensor]:
        """Softmax weights and delays ``[B, top_k]`` of the most correlated periods."""
        q, k, _ = self._project(queries, keys)
        return self._delays(q, k)

    def _delays(self, q: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        corr = autocorrelation(q, k, channel_mean=True)            # [B, L]
        weights, delays = torch.topk(corr, _top_k(self.factor, q.shape[1]), dim=-1)   # [B, k]
        return torch.softmax(weights, dim=-1), delays              # [B, k] x 2

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:   # [B, L, d], [B, S, d]
        q, k, v = self._project(queries, keys)                     # [B, L, d] x 3
        weights, delays = self._delays(q, k)                       # [B, k] x 2
        length = q.shape[1]
        steps = torch.arange(length, device=v.device)              # [L]
        index = (steps[None, None, :] + delays[:, :, None]).flatten(1)   # [B, k*L] in [0, 2L)
        doubled = torch.cat([v, v], dim=1)                         # [B, 2L, d]: roll by gather
        rolled = torch.gather(doubled, 1, index[..., None].expand(-1, -1, v.shape[-1]))
        rolled = rolled.view(v.shape[0], -1, length, v.shape[-1])  # [B, k, L, d]
        agg = torch.einsum("bk,bkld->bld", weights, rolled)       # [B, L, d]
        return self.out(agg)


class _SeasonalLayerNorm(nn.Module):
    """LayerNorm, then subtract the mean over time (the reference's ``my_Layernorm``)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:                        # x: [B, L, d]
        x = self.norm(x)
        return x - x.mean(dim=1, keepdim=True)


class _FeedForward(nn.Module):
    def __init__(self, d_model: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.inner = nn.Linear(d_model, dim_feedforward, bias=False)   # the reference's 1x1
        self.outer = nn.Linear(dim_feedforward, d_model, bias=False)   # convolutions
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:                        # x: [B, L, d]
        return self.dropout(self.outer(self.dropout(F.gelu(self.inner(x)))))


class _EncoderLayer(nn.Module):
    """Auto-Correlation and feed-forward, each followed by a decomposition (seasonal kept)."""

    def __init__(self, d_model: int, dim_feedforward: int, dropout: float, moving_avg: int,
                 factor: float):
        super().__init__()
        self.correlation = _AutoCorrelation(d_model, factor)
        self.ff = _FeedForward(d_model, dim_feedforward, dropout)
        self.dropout = nn.Dropout(dropout)
        self.moving_avg = moving_avg

    def forward(self, x: Tensor) -> Tensor:                        # x: [B, W, d]
        x, _ = series_decomposition(x + self.dropout(self.correlation(x, x)), self.moving_avg)
        x, _ = series_decomposition(x + self.ff(x), self.moving_avg)
        return x                                                   # [B, W, d], seasonal


class _DecoderLayer(nn.Module):
    """Self and cross Auto-Correlation and feed-forward, each followed by a decomposition.

    The seasonal part flows on; the three trend parts are summed and projected (circular
    convolution of width 3) to the trend's channels, to be accumulated by the decoder.
    """

    def __init__(self, d_model: int, n_trend: int, dim_feedforward: int, dropout: float,
                 moving_avg: int, factor: float):
        super().__init__()
        self.self_correlation = _AutoCorrelation(d_model, factor)
        self.cross_correlation = _AutoCorrelation(d_model, factor)
        self.ff = _FeedForward(d_model, dim_feedforward, dropout)
        self.dropout = nn.Dropout(dropout)
        self.trend_proj = nn.Conv1d(d_model, n_trend, 3, padding=1, padding_mode="circular",
                                    bias=False)
        self.moving_avg = moving_avg

    def forward(self, x: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:  # [B, L, d], [B, W, d]
        x, trend1 = series_decomposition(x + self.dropout(self.self_correlation(x, x)),
                                         self.moving_avg)
        x, trend2 = series_decomposition(x + self.dropout(self.cross_correlation(x, memory)),
                                         self.moving_avg)
        x, trend3 = series_decomposition(x + self.ff(x), self.moving_avg)
        trend = (trend1 + trend2 + trend3).transpose(1, 2)         # [B, d, L]
        return x, self.trend_proj(trend).transpose(1, 2)           # [B, L, d], [B, L, F]


@contract_doc
class Autoformer(nn.Module):
    """Autoformer (Wu et al., 2021): decomposition Transformer with Auto-Correlation.

    * **Series decomposition** (:func:`series_decomposition`): a moving average of
      ``moving_avg`` steps with edge replication is the trend, the rest the seasonal part;
      it sits after every sub-layer, so the layers progressively refine the seasonal part
      while the trend is accumulated apart.
    * **Auto-Correlation** replaces self-attention: the correlation between projected
      queries and keys at every delay is computed by FFT (``autocorrelation``), the
      ``int(factor * log L)`` delays with the highest mean correlation are kept, and the
      projected values rolled by those delays are summed with softmax weights (time-delay
      aggregation): ``O(L log L)`` instead of attention's ``O(L^2)``.
    * **Encoder**: a width-3 circular convolution embeds the window, then ``num_layers``
      layers of Auto-Correlation and feed-forward, each followed by a decomposition that
      keeps the seasonal part; a seasonal LayerNorm ends it.
    * **Decoder**: initialised from the decomposition of the latter half of the window
      (``label_len = max(1, window // 2)`` steps) followed by ``horizon`` placeholders:
      zeros for the seasonal part and the window's mean for the trend, exactly as in the
      paper. Each of ``num_decoder_layers`` layers runs self Auto-Correlation, cross
      Auto-Correlation with the encoder's output and a feed-forward block, each followed by
      a decomposition; the three trend parts are projected to the input channels and added
      to the trend. The model's forecast at each horizon step is
      ``Linear(seasonal) + trend`` in the input channels' units.
    * **Readout**: at each horizon step, the shared head reads the decoder's normalised
      seasonal state next to that forecast (``per_step`` head: one projection shared by
      the steps), which keeps the contract ``[B, H, T, P]`` for every ``output``.

    Parameters
    ----------
    {contract}
    d_model : int, default=32
        Width of the embeddings and of every layer.
    num_layers : int, default=2
        Encoder layers.
    num_decoder_layers : int, default=1
        Decoder layers.
    dim_feedforward : int, default=64
        Width of each layer's feed-forward block.
    moving_avg : int, default=25
        Length of the moving average of every series decomposition, clamped to the
        largest odd number no longer than the decomposed sequence.
    factor : float, default=1.0
        Auto-Correlation keeps the ``int(factor * log L)`` best delays (at least 1).
    dropout : float, default=0.1
        On the embeddings, after every sub-layer, and before the head.

    Notes
    -----
    Differences from the reference code (github.com/thuml/Autoformer) and why:

    * time-delay aggregation finds the top delays **per window** (the reference's
      inference-time variant) in training as well, rather than sharing the delays across
      the batch during training; each window's forecast then never depends on the other
      windows of its batch, and training and prediction compute the same function;
    * no ``n_heads``: with either of the reference's aggregation variants the correlation
      is averaged over all heads and channels and every head uses the same delays and
      weights, so splitting ``d_model`` into heads changes nothing;
    * no calendar (time-stamp) embeddings: the nets read the window's values only;
    * the shared head replaces the final linear projection (see Readout).

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_airline
    >>> y = torch.tensor(load_airline().to_numpy(), dtype=torch.float32).log()
    >>> x = ((y - y.mean()) / y.std())[-96:].view(2, 48, 1)         # [B=2, W=48, F=1]
    >>> net = Autoformer(n_features=1, window=48, horizon=12, n_targets=1, moving_avg=13)
    >>> net(x).shape
    torch.Size([2, 12, 1, 1])
    >>> parts = net.explain(x)
    >>> bool(torch.allclose(parts["seasonal"] + parts["trend"], x, atol=1e-6))
    True
    >>> parts["forecast_trend"].shape                               # [B, H, F]
    torch.Size([2, 12, 1])
    """

    _parameter_constraints: dict = {
        "d_model": POSITIVE, "num_layers": POSITIVE, "num_decoder_layers": POSITIVE,
        "dim_feedforward": POSITIVE, "moving_avg": POSITIVE,
        "factor": [real(0, None, closed="neither")], "dropout": DROPOUT,
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 d_model: int = 32, num_layers: int = 2, num_decoder_layers: int = 1,
                 dim_feedforward: int = 64, moving_avg: int = 25, factor: float = 1.0,
                 dropout: float = 0.1):
        super().__init__()
        _check_positive("Autoformer", d_model=d_model, num_layers=num_layers,
                        num_decoder_layers=num_decoder_layers, dim_feedforward=dim_feedforward,
                        moving_avg=moving_avg)
        if not factor > 0:
            raise ValueError(f"Autoformer needs factor > 0; got factor={factor!r}.")
        self.horizon = horizon
        self.label_len = max(1, window // 2)
        self.moving_avg = moving_avg
        self.enc_embed = nn.Conv1d(n_features, d_model, 3, padding=1, padding_mode="circular",
                                   bias=False)
        self.dec_embed = nn.Conv1d(n_features, d_model, 3, padding=1, padding_mode="circular",
                                   bias=False)
        for conv in (self.enc_embed, self.dec_embed):
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="leaky_relu")
        self.embed_dropout = nn.Dropout(dropout)
        self.encoder = nn.ModuleList(
            _EncoderLayer(d_model, dim_feedforward, dropout, moving_avg, factor)
            for _ in range(num_layers))
        self.encoder_norm = _SeasonalLayerNorm(d_model)
        self.decoder = nn.ModuleList(
            _DecoderLayer(d_model, n_features, dim_feedforward, dropout, moving_avg, factor)
            for _ in range(num_decoder_layers))
        self.decoder_norm = _SeasonalLayerNorm(d_model)
        self.seasonal_proj = nn.Linear(d_model, n_features)
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, d_model + n_features, horizon, n_targets, quantiles,
                              per_step=True)

    def _embed(self, conv: nn.Conv1d, x: Tensor) -> Tensor:          # x: [B, L, F]
        return self.embed_dropout(conv(x.transpose(1, 2)).transpose(1, 2))   # [B, L, d]

    def _decode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:   # x: [B, W, F]
        """Decoder's seasonal state ``[B, H, d]``, seasonal and trend forecasts ``[B, H, F]``."""
        seasonal, trend = series_decomposition(x, self.moving_avg)  # [B, W, F] each
        mean = x.mean(dim=1, keepdim=True).expand(-1, self.horizon, -1)   # [B, H, F]
        zeros = torch.zeros_like(mean)
        trend = torch.cat([trend[:, -self.label_len:], mean], dim=1)      # [B, label+H, F]
        seasonal = torch.cat([seasonal[:, -self.label_len:], zeros], dim=1)

        memory = self._embed(self.enc_embed, x)                     # [B, W, d]
        for layer in self.encoder:
            memory = layer(memory)
        memory = self.encoder_norm(memory)                          # [B, W, d]

        h = self._embed(self.dec_embed, seasonal)                   # [B, label+H, d]
        for layer in self.decoder:
            h, residual_trend = layer(h, memory)                    # [B, label+H, d], [.., F]
            trend = trend + residual_trend
        h = self.decoder_norm(h)[:, -self.horizon:]                 # [B, H, d]
        return h, self.seasonal_proj(h), trend[:, -self.horizon:]   # [B, H, d], [B, H, F] x 2

    def forward(self, x: Tensor) -> Tensor:                         # x: [B, W, F]
        h, seasonal, trend = self._decode(x)                        # [B, H, d], [B, H, F] x 2
        z = torch.cat([h, seasonal + trend], dim=-1)                # [B, H, d + F]
        return self.head(self.dropout(z))                           # [B, H, T, P]

    def explain(self, x: Tensor) -> dict[str, Tensor]:
        """The input's decomposition and the decoder's final seasonal and trend forecasts.

        Returns
        -------
        dict
            ``"seasonal"``, ``"trend"``: ``[B, W, F]``, the decomposition of ``x`` with the
            net's ``moving_avg`` (they sum to ``x``); ``"forecast_seasonal"``,
            ``"forecast_trend"``: ``[B, H, F]``, the decoder's projected seasonal part and
            accumulated trend at the horizon steps, in the input channels' units (their sum
            is the Autoformer's own forecast, which the head reads).
        """
        seasonal, trend = series_decomposition(x, self.moving_avg)
        _, forecast_seasonal, forecast_trend = self._decode(x)
        return {"seasonal": seasonal, "trend": trend, "forecast_seasonal": forecast_seasonal,
                "forecast_trend": forecast_trend}
