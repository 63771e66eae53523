"""Data augmentation of training windows: jitter, scaling, magnitude warping, slicing, mixup.

Each transform is a small function on a batch of windows ``x: [B, W, F]`` (and, for mixup,
the targets ``y: [B, H, T]``) that draws its randomness from a ``torch.Generator`` it is
given; :class:`Augmenter` chains the ones an estimator's ``augment=`` names. The engine
(:class:`skfin.engine.SkfinNet`) applies it to **training** batches only, in its training
step: validation, calibration and prediction windows are never augmented. Its generator is
seeded from the engine's seed (so from ``random_state``), with draws made on the CPU: a
fit with augmentation repeats bit for bit on the CPU, and the process RNG is untouched.

The transforms and where they come from (the survey of Iwana & Uchida, 2021, compares
them on the UCR and UEA classification archives):

``"jitter"`` (default strength 0.05)
    Adds Gaussian noise of ``strength`` times each feature's standard deviation
    (Um et al., 2017).
``"scaling"`` (0.1)
    Multiplies each window's feature by one factor drawn from N(1, strength²)
    (Um et al., 2017).
``"magnitude_warp"`` (0.2)
    Multiplies each window's feature by a smooth random curve: a cubic (Catmull-Rom)
    spline through 6 knots drawn from N(1, strength²) (Um et al., 2017).
``"window_slice"`` (0.1)
    Crops a random ``1 - strength`` share of each window and stretches it back to the
    window length by linear interpolation (Le Guennec et al., 2016).
``"mixup"`` (0.2)
    Replaces each sample, inputs **and** targets, by ``lam * a + (1 - lam) * b`` with a
    random partner ``b`` of the batch and ``lam ~ Beta(strength, strength)``
    (Zhang et al., 2018).

They run in the order of :data:`AUGMENTATIONS`, whatever the order given: ``window_slice``,
``magnitude_warp``, ``scaling``, ``jitter``, then ``mixup`` (which combines samples) last.

**What they touch.** Jitter, scaling, magnitude warping and slicing change the past window
``x`` only; known-future covariates (``x_future``: calendars, scheduled events) are known
exactly and stay as they are, and so do the targets. Slicing also stretches the time
steps ``dt`` of nets that read time (the cropped span, spread over the window). Mixup mixes
every input (``x``, ``x_future``, ``dt``) and the targets with the same weight, and the
sample weights too; a pair with a zero-weight sample is left unmixed, so that a sample
excluded by its weight never leaks into training. Targets are mixed in the space the net
is trained in (the forecasters' standardised targets; a variance for ``loss="qlike"``
stays positive).

The first four assume that the target barely changes when the inputs are perturbed a
little: true of the labels of the classification tasks they were proposed for, an
approximation for forecasts. Keep strengths small, and compare with and without on a
walk-forward (``benchmarks/augmentation.py``) before relying on them.

These are written here, on torch tensors, because the implementations that exist do not
fit the engine: the papers' reference code (Iwana & Uchida's ``time_series_augmentation``)
and ``tsaug`` (no longer maintained) work on numpy arrays one series at a time, with
scipy for the splines; ``tsai``'s torch versions are fastai transforms and callbacks, a
framework skfin does not depend on. None is built for batches of forecasting windows with
their targets and known-future covariates.

References
----------
.. [1] T. T. Um, F. M. J. Pfister, D. Pichler, S. Endo, M. Lang, S. Hirche, U. Fietzek and
   D. Kulić, "Data augmentation of wearable sensor data for Parkinson's disease monitoring
   using convolutional neural networks", ICMI 2017. https://arxiv.org/abs/1706.00527
.. [2] A. Le Guennec, S. Malinowski and R. Tavenard, "Data augmentation for time series
   classification using convolutional neural networks", ECML/PKDD Workshop on Advanced
   Analytics and Learning on Temporal Data, 2016.
.. [3] H. Zhang, M. Cisse, Y. N. Dauphin and D. Lopez-Paz, "mixup: Beyond empirical risk
   minimization", ICLR 2018. https://arxiv.org/abs/1710.09412
.. [4] B. K. Iwana and S. Uchida, "An empirical survey of data augmentation for time series
   classification with neural networks", PLOS ONE 16(7), 2021.
   https://doi.org/10.1371/journal.pone.0254841

Examples
--------
>>> import torch
>>> from skfin.datasets import load_sp500
>>> r = torch.tensor(load_sp500()["Close"].pct_change().to_numpy()[1:121], dtype=torch.float32)
>>> x = r.view(4, 30, 1)                                   # four 30-day windows
>>> g = torch.Generator().manual_seed(0)
>>> tuple(window_slice(x, 0.1, g).shape)
(4, 30, 1)
>>> aug = Augmenter({"jitter": 0.05, "mixup": 0.2})
>>> xa, ya = aug(x, x[:, -1:, :], torch.Generator().manual_seed(0))
>>> tuple(xa.shape), tuple(ya.shape)
((4, 30, 1), (4, 1, 1))
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

__all__ = ["AUGMENTATIONS", "Augmenter", "check_augment", "jitter", "magnitude_warp", "mixup",
           "scaling", "window_slice"]

#: The augmentations ``augment=`` may name, with their default strength, in the order
#: they are applied.
AUGMENTATIONS = {"window_slice": 0.1, "magnitude_warp": 0.2, "scaling": 0.1, "jitter": 0.05,
                 "mixup": 0.2}


def _normal(shape, generator: torch.Generator, like: Tensor) -> Tensor:
    """Standard normal draws on the CPU generator, moved to ``like``'s device and dtype."""
    return torch.randn(shape, generator=generator).to(device=like.device, dtype=like.dtype)


def jitter(x: Tensor, strength: float, generator: torch.Generator) -> Tensor:
    """Add Gaussian noise: ``x + strength * sd_f * N(0, 1)`` (Um et al., 2017).

    Parameters
    ----------
    x : Tensor
        ``[B, W, F]`` windows.
    strength : float
        Noise standard deviation, as a share of each feature's standard deviation over the
        batch (so that the noise is scale-free: a feature in percent and one in basis
        points get the same relative noise). NaN (missing values) are ignored in the
        standard deviation and stay NaN.
    generator : torch.Generator
        CPU generator of the draws.

    Returns
    -------
    Tensor
        ``[B, W, F]``.
    """
    values = x.detach()
    mean = values.nanmean(dim=(0, 1), keepdim=True)                       # [1, 1, F]
    sd = ((values - mean) ** 2).nanmean(dim=(0, 1), keepdim=True).sqrt()  # [1, 1, F]
    sd = torch.nan_to_num(sd, nan=0.0)
    return x + strength * sd * _normal(x.shape, generator, x)


def scaling(x: Tensor, strength: float, generator: torch.Generator) -> Tensor:
    """Multiply each window's feature by one factor drawn from N(1, strength²) (Um et al., 2017).

    Parameters
    ----------
    x : Tensor
        ``[B, W, F]`` windows.
    strength : float
        Standard deviation of the factors.
    generator : torch.Generator

    Returns
    -------
    Tensor
        ``[B, W, F]``: ``x[b, :, f] * factor[b, f]``.
    """
    factor = 1.0 + strength * _normal((x.shape[0], 1, x.shape[2]), generator, x)  # [B, 1, F]
    return x * factor


def _catmull_rom(knots: Tensor, steps: int) -> Tensor:
    """A Catmull-Rom cubic spline through ``knots: [B, K, F]`` (evenly spaced over the
    window, first at step 0, last at step ``steps - 1``), read at every step: ``[B, steps, F]``."""
    n_knots = knots.shape[1]
    t = torch.linspace(0, n_knots - 1, steps, device=knots.device, dtype=knots.dtype)  # [W]
    segment = t.floor().long().clamp(max=n_knots - 2)                             # [W]
    u = (t - segment.to(t.dtype)).view(1, -1, 1)                                  # [1, W, 1]
    p0, p1, p2, p3 = (knots[:, (segment + k).clamp(0, n_knots - 1)] for k in (-1, 0, 1, 2))
    return 0.5 * (2 * p1 + (p2 - p0) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u ** 2
                  + (3 * p1 - p0 - 3 * p2 + p3) * u ** 3)                         # [B, W, F]


def magnitude_warp(x: Tensor, strength: float, generator: torch.Generator, *,
                   knots: int = 4) -> Tensor:
    """Multiply each window's feature by a smooth random curve (Um et al., 2017).

    The curve is a cubic (Catmull-Rom) spline through ``knots + 2`` evenly spaced points
    (both ends included) drawn from N(1, strength²), computed on tensors (Um et al. use
    scipy's ``CubicSpline`` per series).

    Parameters
    ----------
    x : Tensor
        ``[B, W, F]`` windows.
    strength : float
        Standard deviation of the curve's knots around 1.
    generator : torch.Generator
    knots : int, default=4
        Interior knots (Um et al.'s default).

    Returns
    -------
    Tensor
        ``[B, W, F]``.
    """
    points = 1.0 + strength * _normal((x.shape[0], knots + 2, x.shape[2]), generator, x)
    return x * _catmull_rom(points, x.shape[1])


def _slice_positions(batch: int, window: int, strength: float,
                     generator: torch.Generator) -> tuple[Tensor, int]:
    """Fractional source steps ``[B, W]`` of each stretched crop, and the crop length."""
    length = min(window, max(2, int(round((1.0 - strength) * window))))
    starts = torch.randint(window - length + 1, (batch, 1), generator=generator)      # [B, 1]
    return starts + torch.linspace(0, length - 1, window).unsqueeze(0), length        # [B, W]


def _interpolate(values: Tensor, positions: Tensor) -> Tensor:
    """``values: [B, W, ...]`` read at fractional ``positions: [B, W]`` (linear)."""
    positions = positions.to(values.device)
    lo = positions.floor().long().clamp(0, values.shape[1] - 1)                   # [B, W]
    hi = (lo + 1).clamp(max=values.shape[1] - 1)
    frac = (positions - lo.to(positions.dtype)).to(values.dtype)
    shape = (*lo.shape, *([1] * (values.ndim - 2)))
    frac = frac.view(shape)
    pick = lambda index: values.gather(1, index.view(shape).expand(                # noqa: E731
        -1, -1, *values.shape[2:]))
    low = pick(lo)
    return low + frac * (pick(hi) - low)


def window_slice(x: Tensor, strength: float, generator: torch.Generator, *,
                 dt: Tensor | None = None):
    """Crop a random part of each window and stretch it back to the window length
    (Le Guennec et al., 2016).

    Each window keeps ``round((1 - strength) * W)`` consecutive steps (at least 2), from a
    random start, read at ``W`` evenly spaced fractional positions by linear interpolation:
    the first step of the result is the crop's first step and the last its last, in their
    time order.

    Parameters
    ----------
    x : Tensor
        ``[B, W, F]`` windows.
    strength : float
        Share of each window cropped away, in [0, 1).
    generator : torch.Generator
    dt : Tensor, default=None
        ``[B, W]`` time elapsed before each step (nets that read time). Interpolated the
        same way and multiplied by ``(L - 1) / (W - 1)``, so the stretched window spans
        the time of the crop.

    Returns
    -------
    Tensor, or (Tensor, Tensor) when ``dt`` is given
        ``[B, W, F]`` (and ``[B, W]``).
    """
    batch, window = x.shape[0], x.shape[1]
    if window < 3:                                  # nothing to crop
        return x if dt is None else (x, dt)
    positions, length = _slice_positions(batch, window, strength, generator)
    out = _interpolate(x, positions)
    if dt is None:
        return out
    return out, _interpolate(dt, positions) * ((length - 1) / (window - 1))


def mixup(inputs: dict[str, Tensor], y: Tensor, alpha: float, generator: torch.Generator):
    """Mix each sample with a random partner of the batch (Zhang et al., 2018).

    Every input tensor and the targets become ``lam * v[i] + (1 - lam) * v[j]``, with
    ``j`` a random permutation of the batch and ``lam ~ Beta(alpha, alpha)`` drawn per
    sample (Zhang et al. draw one per batch; per sample mixes more diversely, with the same
    expectation). The sample weights (``"sample_weight"``, if any) are mixed the same way,
    except that a pair in which either weight is zero is not mixed (``lam = 1``), so that a
    sample given zero weight never enters training.

    Parameters
    ----------
    inputs : dict of str to Tensor
        ``{"x": [B, W, F], ...}``: also ``x_future`` ``[B, H, K]``, ``dt`` ``[B, W]``,
        ``sample_weight`` ``[B]``.
    y : Tensor
        ``[B, H, T]`` targets.
    alpha : float
        Beta parameter; small values (0.1-0.4 in Zhang et al.) keep most samples close to
        one of the pair.
    generator : torch.Generator

    Returns
    -------
    (dict, Tensor)
        Mixed inputs and targets.
    """
    batch = y.shape[0]
    partner = torch.randperm(batch, generator=generator)                          # [B]
    seed = int(torch.randint(2**62, (), generator=generator))
    lam = torch.from_numpy(np.random.default_rng(seed).beta(alpha, alpha, size=batch))  # [B]
    weight = inputs.get("sample_weight")
    if weight is not None:
        w = weight.detach().cpu()
        lam = torch.where((w > 0) & (w[partner] > 0), lam, torch.ones_like(lam))
    partner = partner.to(y.device)

    def mix(value: Tensor) -> Tensor:
        factor = lam.to(device=value.device, dtype=value.dtype).view(
            batch, *([1] * (value.ndim - 1)))
        return factor * value + (1 - factor) * value[partner]

    mixed = {k: mix(v) if isinstance(v, Tensor) and v.is_floating_point()
             and v.shape[:1] == (batch,) else v for k, v in inputs.items()}
    return mixed, mix(y)


def check_augment(augment) -> dict[str, float] | None:
    """``augment=`` as ``{name: strength}`` in the order of application (None if off).

    Parameters
    ----------
    augment : str, list of str, dict of str to float, or None
        A name of :data:`AUGMENTATIONS`, several names (default strengths), or names with
        their strengths.

    Returns
    -------
    dict or None

    Raises
    ------
    ValueError
        For an unknown name or a strength out of range, listing what is valid.

    Examples
    --------
    >>> check_augment(["mixup", "jitter"])
    {'jitter': 0.05, 'mixup': 0.2}
    >>> check_augment({"scaling": 0.2})
    {'scaling': 0.2}
    >>> check_augment("warp")
    Traceback (most recent call last):
    ...
    ValueError: augment names an unknown augmentation 'warp'. Valid names: 'window_slice', 'magnitude_warp', 'scaling', 'jitter', 'mixup' (or a list of them, or a dict of name to strength).
    """
    if augment is None:
        return None
    valid = ", ".join(repr(k) for k in AUGMENTATIONS)
    if isinstance(augment, str):
        augment = [augment]
    if isinstance(augment, Mapping):
        pairs = list(augment.items())
    elif isinstance(augment, (list, tuple)):
        pairs = [(name, None) for name in augment]
    else:
        raise ValueError(f"augment must be None, a name, a list of names or a dict of name "
                         f"to strength; got {augment!r}. Valid names: {valid}.")
    if not pairs:
        return None
    spec = {}
    for name, strength in pairs:
        if not isinstance(name, str) or name not in AUGMENTATIONS:
            raise ValueError(
                f"augment names an unknown augmentation {name!r}. Valid names: {valid} (or a "
                "list of them, or a dict of name to strength).")
        if strength is None:
            strength = AUGMENTATIONS[name]
        if isinstance(strength, bool) or not isinstance(strength, (int, float, np.number)):
            raise ValueError(f"augment[{name!r}] must be a number (the strength); got "
                             f"{strength!r}.")
        strength = float(strength)
        upper = 1.0 if name == "window_slice" else np.inf
        if not (0 < strength < upper):
            where = "in (0, 1)" if name == "window_slice" else "positive and finite"
            raise ValueError(f"augment[{name!r}]: the strength must be {where}; got "
                             f"{strength!r}. Default: {AUGMENTATIONS[name]}.")
        spec[name] = strength
    return {name: spec[name] for name in AUGMENTATIONS if name in spec}


class Augmenter:
    """The augmentations named by an estimator's ``augment=``, applied to a training batch.

    Parameters
    ----------
    augment : str, list of str, dict or None
        As for ``skfin.engine.augment.check_augment``: names of
        ``skfin.engine.augment.AUGMENTATIONS``, or a dict of name to strength.

    Attributes
    ----------
    spec : dict of str to float
        The augmentations and their strengths, in the order they are applied.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_vix
    >>> vix = load_vix().ffill().to_numpy()[-200:]
    >>> vix = torch.tensor(vix, dtype=torch.float32).view(10, 20, 1)    # ten 20-day windows
    >>> aug = Augmenter("scaling")
    >>> x, y = aug(vix, vix[:, -1:], torch.Generator().manual_seed(0))
    >>> bool(torch.equal(y, vix[:, -1:]))          # the targets are left alone
    True
    >>> ratio = x / vix                            # one factor per window and feature
    >>> bool(torch.allclose(ratio, ratio[:, :1]))
    True
    """

    def __init__(self, augment):
        self.spec = check_augment(augment) or {}

    def __repr__(self) -> str:
        return f"Augmenter({self.spec!r})"

    def __call__(self, x, y: Tensor, generator: torch.Generator):
        """Augmented ``(x, y)``; ``x`` a ``[B, W, F]`` tensor or a dict of inputs."""
        if not self.spec:
            return x, y
        inputs = dict(x) if isinstance(x, Mapping) else {"x": x}
        for name, strength in self.spec.items():
            if name == "mixup":
                inputs, y = mixup(inputs, y, strength, generator)
            elif name == "window_slice":
                if inputs.get("dt") is not None:
                    inputs["x"], inputs["dt"] = window_slice(inputs["x"], strength, generator,
                                                             dt=inputs["dt"])
                else:
                    inputs["x"] = window_slice(inputs["x"], strength, generator)
            else:
                transform = {"jitter": jitter, "scaling": scaling,
                             "magnitude_warp": magnitude_warp}[name]
                inputs["x"] = transform(inputs["x"], strength, generator)
        return (inputs if isinstance(x, Mapping) else inputs["x"]), y
