"""Recurrent nets: parameter counts, the named AttentionLSTM, the ResidualLSTM."""

import pytest
import torch

from skfin.nets import GRU, LSTM, AttentionLSTM, ResidualLSTM


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(("n_features", "hidden", "layers"), [(2, 16, 1), (7, 32, 3)])
def test_lstm_and_gru_parameter_counts_match_closed_forms(n_features, hidden, layers):
    """Closed-form parameter counts of the recurrent layers.

    Convention: the textbook LSTM has one bias vector per gate, ``4 (in + h + 1) h``
    parameters per layer (GRU: ``3 (in + h + 1) h``). PyTorch (like cuDNN) keeps two bias
    vectors per gate, ``bias_ih`` and ``bias_hh``, so its count per layer is
    ``4 (in + h + 2) h`` (GRU: ``3 (in + h + 2) h``): ``4h`` (``3h``) more than the textbook.
    ``in`` is ``n_features`` for the first layer and ``h`` above it.
    """
    def closed_form(gates, biases):
        ins = [n_features] + [hidden] * (layers - 1)
        return sum(gates * (i + hidden + biases) * hidden for i in ins)

    lstm = LSTM(n_features=n_features, window=10, horizon=1, n_targets=1,
                hidden_size=hidden, num_layers=layers).rnn
    gru = GRU(n_features=n_features, window=10, horizon=1, n_targets=1,
              hidden_size=hidden, num_layers=layers).rnn
    assert _count(lstm) == closed_form(4, 2)
    assert _count(gru) == closed_form(3, 2)
    # Dropping one bias vector per gate gives the textbook count.
    assert _count(lstm) - 4 * hidden * layers == closed_form(4, 1)
    assert _count(gru) - 3 * hidden * layers == closed_form(3, 1)


def test_residual_lstm_parameter_count():
    f, h, layers = 3, 16, 3
    net = ResidualLSTM(n_features=f, window=10, horizon=1, n_targets=1, hidden_size=h,
                       num_layers=layers)
    assert _count(net.proj) == (f + 1) * h
    assert _count(net.layers) == layers * 4 * (h + h + 2) * h
    assert _count(net.norms) == layers * 2 * h


def test_attention_lstm_is_the_lstm_with_attention(real_batch):
    x, _ = real_batch
    torch.manual_seed(0)
    named = AttentionLSTM(n_features=2, window=20, horizon=3, n_targets=1, hidden_size=8)
    torch.manual_seed(0)
    plain = LSTM(n_features=2, window=20, horizon=3, n_targets=1, hidden_size=8, attention=True)
    named.eval(), plain.eval()
    torch.testing.assert_close(named(x), plain(x), rtol=0, atol=0)
    weights = named.explain(x)["attention"]
    assert weights.shape == (64, 20)
    torch.testing.assert_close(weights.sum(1), torch.ones(64))


def test_residual_lstm_initialisation_and_normalised_output(real_batch):
    net = ResidualLSTM(n_features=2, window=20, horizon=1, n_targets=1, hidden_size=16)
    for lstm in net.layers:
        assert torch.all(lstm.bias_ih_l0[16:32] == 1) and torch.all(lstm.bias_hh_l0 == 0)
    with pytest.raises(ValueError, match="num_layers >= 1"):
        ResidualLSTM(n_features=2, window=20, horizon=1, n_targets=1, num_layers=0)
    # what reaches the head is layer-normalised: h <- LayerNorm(h + LSTM(h)), per layer,
    # recomputed here by hand (eval: no dropout)
    x, _ = real_batch
    net = ResidualLSTM(n_features=2, window=20, horizon=1, n_targets=1, hidden_size=16,
                       num_layers=2).eval()
    seen = []
    hook = net.head.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    with torch.no_grad():
        net(x)
        hook.remove()
        h = net.proj(x)
        for lstm in net.layers:
            z = h + lstm(h)[0]
            h = (z - z.mean(-1, keepdim=True)) / torch.sqrt(z.var(-1, unbiased=False,
                                                              keepdim=True) + 1e-5)
    torch.testing.assert_close(seen[0], h[:, -1], rtol=0, atol=1e-5)
    torch.testing.assert_close(seen[0].mean(-1), torch.zeros(64), rtol=0, atol=1e-5)
    torch.testing.assert_close(seen[0].std(-1, unbiased=False), torch.ones(64), rtol=0,
                               atol=1e-3)
