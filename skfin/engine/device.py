"""Device routing: ``device="auto" | "cpu" | "cuda" | "cuda:N" | "mps"``."""

from __future__ import annotations

import torch

__all__ = ["available_devices", "resolve_device"]


def available_devices() -> list[str]:
    """Devices torch can use on this machine, best first.

    Examples
    --------
    >>> "cpu" in available_devices()
    True
    """
    found = []
    if torch.cuda.is_available():
        found += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(device: str) -> str:
    """Turn an estimator's ``device`` parameter into a concrete torch device string.

    ``"auto"`` picks CUDA, then Apple MPS, then the CPU. An explicit device that this
    machine lacks raises a ``ValueError`` naming the devices that exist.

    Parameters
    ----------
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Returns
    -------
    str

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in available_devices()
    True
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto' or 'cpu'; got {device!r}.")
    name = device.strip().lower()
    if name == "auto":
        return available_devices()[0]
    kind, _, index = name.partition(":")
    if kind not in {"cpu", "cuda", "mps"} or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(
            f"device={device!r} is not a device name. Use 'auto', 'cpu', 'cuda', 'cuda:N' or "
            f"'mps'; this machine has {available_devices()}."
        )
    if name not in available_devices():
        raise ValueError(
            f"device={device!r} is not available on this machine; available devices are "
            f"{available_devices()}. Use device='auto' to pick the best one."
        )
    return name
