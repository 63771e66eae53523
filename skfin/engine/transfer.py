"""Transfer learning: which weights a fit may move (``freeze=``).

Fine-tuning a net pretrained on many series (``NeuralForecaster.pretrain``, or a regressor
fitted with ``groups=`` and refitted with ``warm_start=True``) often keeps part of it as
it was: the encoder that learnt what market series look like, say, while the head adapts
to the new one. ``freeze`` names those parts by the dotted names of the net's submodules,
as ``torch.nn.Module.named_parameters`` spells them; torch then computes no gradient for
them (``requires_grad=False``) and AdamW leaves them alone (it skips parameters without
a gradient, weight decay included).

Nothing here is specific to skfin's nets: the names are torch's, and the two keywords
``"all"`` (zero-shot: every weight kept) and ``"body"`` (all but the output head, the
shared :func:`skfin.nets.make_head` that every net ends in) cover the usual cases.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

__all__ = ["parameter_groups", "freeze_parameters"]

def _entries(freeze) -> list[str]:
    entries = [freeze] if isinstance(freeze, str) else list(freeze)
    if not entries or not all(isinstance(e, str) and e for e in entries):
        raise TypeError(
            f"freeze must be None, a name or a list of names of the net's parameter groups "
            f"(or 'all' / 'body'); got {freeze!r}."
        )
    return entries


def _matches(name: str, entry: str) -> bool:
    """Whether parameter ``name`` lies in the submodule ``entry`` (at any depth, so the
    wrappers around a net, such as ``WindowNorm``'s ``module.``, need not be spelt)."""
    return name == entry or name.startswith(entry + ".") or f".{entry}." in f".{name}"


def _in_head(name: str) -> bool:
    return _matches(name, "head")


def parameter_groups(module: nn.Module) -> list[str]:
    """The names ``freeze`` accepts for ``module``: its submodules that hold parameters.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    list of str
        Every dotted submodule path that owns parameters (``"rnn"``, ``"head"``,
        ``"head.proj"``...), shortest first.

    Examples
    --------
    >>> from skfin.nets import LSTM
    >>> parameter_groups(LSTM(n_features=1, window=20, horizon=1, n_targets=1))
    ['head', 'rnn', 'head.proj']
    """
    names = set()
    for name, _ in module.named_parameters():
        parts = name.split(".")[:-1]
        names.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
    return sorted(names, key=lambda n: (n.count("."), n))


def freeze_parameters(module: nn.Module, freeze) -> list[str]:
    """Switch off the gradient of the parameters that ``freeze`` names; return their names.

    Parameters
    ----------
    module : torch.nn.Module
    freeze : str or iterable of str
        Submodule names (see :func:`parameter_groups`; a name matches at any depth), or
        ``"all"`` (every parameter) or ``"body"`` (every parameter outside the head).

    Returns
    -------
    list of str
        The frozen parameters' names.

    Raises
    ------
    ValueError
        When a name matches no parameter (it lists the names that exist).

    Examples
    --------
    >>> from skfin.nets import LSTM
    >>> net = LSTM(n_features=1, window=20, horizon=1, n_targets=1)
    >>> freeze_parameters(net, "body")[:2]
    ['rnn.weight_ih_l0', 'rnn.weight_hh_l0']
    >>> [n for n, p in net.named_parameters() if p.requires_grad]
    ['head.proj.weight', 'head.proj.bias']
    """
    named = list(module.named_parameters())
    chosen: set[str] = set()
    for entry in _entries(freeze):
        if entry == "all":
            hits = {n for n, _ in named}
        elif entry == "body":
            hits = {n for n, _ in named if not _in_head(n)}
        else:
            hits = {n for n, _ in named if _matches(n, entry)}
        if not hits:
            raise ValueError(
                f"freeze names {entry!r}, which matches no parameter of "
                f"{type(module).__name__}. Its parameter groups are "
                f"{parameter_groups(module)} (or use 'all' / 'body')."
            )
        chosen |= hits
    for name, param in named:
        if name in chosen:
            param.requires_grad_(False)
    return [n for n, _ in named if n in chosen]


def freezes_all(freeze) -> bool:
    """Whether ``freeze`` keeps every weight (``"all"``): a fit then trains nothing."""
    return freeze is not None and "all" in _entries(freeze)


def trainable(parameters: Iterable[nn.Parameter]) -> bool:
    """Whether any of ``parameters`` still takes a gradient."""
    return any(p.requires_grad for p in parameters)
