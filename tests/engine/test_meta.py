"""MAML (skfin.engine.meta): the meta-gradient, the adaptation, and pretrain(meta=...)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from skfin.datasets import load_nasdaq, load_sp500
from skfin.engine.meta import MAML, adapt, maml_loss
from skfin.forecasting import GRUForecaster


def _windows(n=6, window=4, dtype=torch.float64):
    r = 100 * np.diff(np.log(load_sp500()["Close"].to_numpy()[-(n * window + 2):]))
    x = torch.tensor(r[:n * window], dtype=dtype).view(n, window, 1)
    y = torch.tensor(r[window:n * window + window:window][:n], dtype=dtype).view(n, 1, 1)
    return x, y


class Tiny(nn.Module):
    """A one-hidden-layer net on the contract (nonlinear, so the second-order terms count)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 3)
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.hidden(x.flatten(1)))).view(-1, 1, 1, 1)


def _mse(out, y):
    return ((out[..., 0] - y) ** 2).mean()


def test_the_meta_gradient_is_the_derivative_of_the_query_loss_at_adapted_weights():
    torch.manual_seed(0)
    net = Tiny().double()
    x, y = _windows()
    support, query = (x[:3], y[:3]), (x[3:], y[3:])
    kwargs = dict(inner_lr=0.05, inner_steps=2)
    maml_loss(net, _mse, support, query, **kwargs).backward()
    eps = 1e-6
    for name, param in net.named_parameters():
        for i in range(param.numel()):
            flat = param.data.view(-1)
            keep = flat[i].item()
            flat[i] = keep + eps
            up = maml_loss(net, _mse, support, query, **kwargs).item()
            flat[i] = keep - eps
            down = maml_loss(net, _mse, support, query, **kwargs).item()
            flat[i] = keep
            assert param.grad.view(-1)[i].item() == pytest.approx((up - down) / (2 * eps),
                                                                  rel=1e-5, abs=1e-8), name
    # the first-order approximation drops terms that are not zero here
    exact = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    maml_loss(net, _mse, support, query, first_order=True, **kwargs).backward()
    assert any(not torch.allclose(a, p.grad) for a, p in zip(exact, net.parameters()))


def test_adapt_is_plain_gradient_descent_on_the_given_windows():
    torch.manual_seed(0)
    net = Tiny().double()
    reference = copy.deepcopy(net)
    x, y = _windows()
    adapt(net, _mse, x, y, inner_lr=0.1, inner_steps=3)
    sgd = torch.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(3):
        sgd.zero_grad()
        _mse(reference(x), y).backward()
        sgd.step()
    for a, b in zip(net.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def _panel(n=300):
    def r(loader):
        return (100 * np.log(loader()["Close"]).diff().dropna()).iloc[-n:]
    return pd.concat({"SP500": r(load_sp500), "NASDAQ": r(load_nasdaq)},
                     names=["ticker", "date"]).to_frame("r")


def test_fit_after_a_maml_pretrain_is_the_maml_adaptation():
    config = MAML(support=12, query=12, tasks=2, inner_steps=2, inner_lr=0.05)
    f = GRUForecaster(window=8, hidden_size=4, max_epochs=2, meta=config, valid_fraction=0.0,
                      random_state=0).pretrain(_panel(), fh=[1])
    assert len(f.pretrained_meta_loss_) == 2 and np.isfinite(f.pretrained_meta_loss_).all()
    y = (100 * np.log(load_sp500()["Close"]).diff().dropna()).iloc[-100:].to_frame("r")
    f.fit(y, fh=[1])
    # replay: the pretrained net, two gradient steps on the last 12 training windows
    module = copy.deepcopy(f.pretrained_net_.module_)
    z = torch.tensor(((y - y.mean()) / y.std(ddof=0)).to_numpy(), dtype=torch.float32)
    ends = torch.arange(8 - 1, len(z) - 1)[-12:]
    x = z[ends[:, None] - torch.arange(7, -1, -1)]
    target = z[ends + 1][:, None]
    module.train()
    with f.net_._seeded():
        adapt(module, f.net_.criterion_, x, target, inner_lr=0.05, inner_steps=2)
    for (name, a), b in zip(module.named_parameters(), f.net_.module_.parameters()):
        torch.testing.assert_close(a, b, msg=name)


def test_maml_refuses_series_too_short_for_one_task_and_bad_settings():
    with pytest.raises(ValueError, match=r"support \+ query = 32 \+ 32 = 64 windows"):
        GRUForecaster(window=8, hidden_size=4, max_epochs=1, meta="maml").pretrain(
            _panel(40), fh=[1])
    with pytest.raises(ValueError, match="inner_lr=0"):
        MAML(inner_lr=0)
