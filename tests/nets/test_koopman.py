"""DeepKoopman: the linear rollout, the Koopman losses, the stable operator and its spectrum."""

import copy
import math
import pickle

import numpy as np
import pytest
import torch

from skfin.nets.heads import DEFAULT_QUANTILES
from skfin.datasets import load_vix
from skfin.engine import SkfinNet, TimeOrderedSplit, WindowDataset
from skfin.losses import PointLoss
from skfin.nets import OUTPUTS, DeepKoopman

N_PARAMS = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2, "student_t": 3}
TERMS = ("reconstruction", "linearity", "prediction")
EXPLAIN_KEYS = {"eigenvalues", "periods", "decay_rates", "half_lives", "latent",
                "latent_forecast", "reconstruction", "state_forecast"}


@pytest.fixture(scope="module")
def log_vix():
    """Standardised daily log VIX (holidays dropped), float32 ``[n]``."""
    v = np.log(load_vix().dropna().to_numpy())
    return torch.tensor((v - v.mean()) / v.std(), dtype=torch.float32)


@pytest.fixture(scope="module")
def vix_batch(log_vix):
    """64 windows of 30 days of log VIX and the next 5 days: ``[64, 30, 1]``, ``[64, 5, 1]``."""
    series = log_vix.view(-1, 1)
    ds = WindowDataset(series, torch.arange(300, 300 + 64 * 7, 7), window=30, targets=series,
                       target_offsets=torch.arange(1, 6))
    return ds[torch.arange(64)]


def _stable_eigs(net):
    """|eigenvalues| of K, computed by LAPACK in float64 (not read off the blocks)."""
    return torch.linalg.eigvals(net.koopman_matrix().detach().double()).abs()


def _manual_terms(net, x):
    """The three Koopman losses written out with matrix powers, shift by shift."""
    states = net._states(x)                                       # [B, S, dF]
    z = net.encoder(states)                                       # [B, S, L]
    k = net.koopman_matrix()
    n = z.shape[1]
    terms = {"reconstruction": ((net.decoder(z) - states) ** 2).mean()}
    if n > 1:
        rolled = [z[:, 0] @ torch.linalg.matrix_power(k, shift).T for shift in range(1, n)]
        terms["linearity"] = sum(((z[:, shift] - r) ** 2).mean()
                                 for shift, r in enumerate(rolled, 1)) / (n - 1)
        terms["prediction"] = sum(((states[:, shift] - net.decoder(r)) ** 2).mean()
                                  for shift, r in enumerate(rolled, 1)) / (n - 1)
    return terms


# ----------------------------------------------------------------------------- contract
@pytest.mark.parametrize("output", OUTPUTS)
def test_shapes_for_every_head(output, real_batch):
    x, _ = real_batch                                             # [64, 20, 2]
    torch.manual_seed(0)
    net = DeepKoopman(n_features=2, window=20, horizon=3, n_targets=2, output=output).eval()
    with torch.no_grad():
        out, parts = net(x), net.explain(x)
    assert out.shape == (64, 3, 2, N_PARAMS[output]) and torch.isfinite(out).all()
    assert net._aux is None                                       # evaluation keeps nothing
    assert set(parts) == EXPLAIN_KEYS
    s = net.n_states
    assert net.delays == 10 and s == 11                           # half the window by default
    shapes = {"eigenvalues": (64, 8), "periods": (64, 8), "decay_rates": (64, 8),
              "half_lives": (64, 8), "latent": (64, s, 8), "latent_forecast": (64, 3, 8),
              "reconstruction": (64, s, 2), "state_forecast": (64, 3, 2)}
    assert {k: tuple(v.shape) for k, v in parts.items()} == shapes
    assert parts["eigenvalues"].is_complex()


@pytest.mark.parametrize("window", [1, 3, 5])
def test_short_windows_and_batch_of_one(window, real_batch):
    """Every window from one row works; terms needing two states are skipped."""
    x = real_batch[0][:1, -window:]                               # [1, window, 2]
    y = real_batch[1][:1].expand(-1, 2, -1)                       # [1, 2, 1]
    torch.manual_seed(0)
    net = DeepKoopman(n_features=2, window=window, horizon=2, n_targets=1)
    assert net.n_states == window - (window + 1) // 2 + 1
    out = net(x)
    aux = net.auxiliary_loss(y)
    assert out.shape == (1, 2, 1, 1) and torch.isfinite(aux) and aux >= 0
    (out.sum() + aux).backward()
    assert net.encoder[0].weight.grad.abs().sum() > 0
    net.eval()
    torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)    # eval is deterministic
    with torch.no_grad():
        terms = net._terms(net._states(x), net.encoder(net._states(x)), net.koopman_matrix())
    assert set(terms) == ({"reconstruction"} if window == 1 else set(TERMS))
    with pytest.raises(ValueError, match="delays <= window"):
        DeepKoopman(n_features=2, window=window, horizon=2, n_targets=1, delays=window + 1)


def test_forecast_is_the_latent_rollout_read_by_the_head(real_batch):
    x, _ = real_batch
    torch.manual_seed(0)
    net = DeepKoopman(n_features=2, window=20, horizon=6, n_targets=1, output="gaussian",
                      delays=3).eval()
    with torch.no_grad():
        k = net.koopman_matrix()
        z_last = net.encoder(x[:, -3:].reshape(64, 6))            # the last state, flattened
        expected = torch.stack([z_last @ torch.linalg.matrix_power(k, h).T
                                for h in range(1, 7)], 1)         # K^h phi(x_T): [B, 6, L]
        parts = net.explain(x)
        torch.testing.assert_close(parts["latent_forecast"], expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(parts["latent"][:, -1], z_last, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(net(x), net.head(parts["latent_forecast"]),
                                   rtol=1e-5, atol=1e-6)
        # a longer rollout continues the same one; training mode gives the same forecast
        long = net.explain(x, steps=40)["latent_forecast"]
        torch.testing.assert_close(long[:, :6], expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(net.train()(x), net.eval()(x), rtol=1e-5, atol=1e-6)


def test_delay_embedding_orders_rows_oldest_first(real_batch):
    x, _ = real_batch
    net = DeepKoopman(n_features=2, window=20, horizon=1, n_targets=1, delays=4)
    states = net._states(x)                                       # [64, 17, 8]
    assert states.shape == (64, 17, 8)
    torch.testing.assert_close(states[:, 0], x[:, :4].reshape(64, 8), rtol=0, atol=0)
    torch.testing.assert_close(states[:, -1], x[:, -4:].reshape(64, 8), rtol=0, atol=0)


# ----------------------------------------------------------------------------- losses
def test_auxiliary_loss_is_the_documented_formula(vix_batch):
    x, y = vix_batch
    torch.manual_seed(0)
    net = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, delays=20,
                      reconstruction_weight=0.3, linearity_weight=0.5, prediction_weight=0.7)
    net(x)
    aux = net.auxiliary_loss(y)
    terms = _manual_terms(net, x)
    expected = (0.3 * terms["reconstruction"] + 0.5 * terms["linearity"]
                + 0.7 * terms["prediction"])
    torch.testing.assert_close(aux, expected, rtol=1e-5, atol=1e-7)
    assert all(v > 0 for v in terms.values())
    with pytest.raises(ValueError, match="forward pass in training mode"):
        net.auxiliary_loss(y)                                     # consumed: each batch once
    net.eval()(x)
    with pytest.raises(ValueError, match="forward pass in training mode"):
        net.auxiliary_loss(y)                                     # evaluation keeps nothing


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


@pytest.mark.parametrize("stable", [True, False])
def test_auxiliary_loss_reaches_encoder_decoder_and_operator(stable, vix_batch):
    x, y = vix_batch
    torch.manual_seed(0)
    net = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, latent_dim=7,
                      stable=stable)
    net(x)
    aux = net.auxiliary_loss(y)
    assert torch.isfinite(aux) and aux > 0
    operator = ["det_logit", "trace_logit", "real_logit"] if stable else ["weight"]
    named = dict(net.named_parameters())
    groups = {"encoder": [p for n, p in named.items() if n.startswith("encoder.")],
              "decoder": [p for n, p in named.items() if n.startswith("decoder.")],
              "K": [named[n] for n in operator]}
    for group, params in groups.items():
        grads = _grads(aux, params)
        assert all(g is not None and g.abs().sum() > 0 for g in grads), group
    head = _grads(aux, list(net.head.parameters()))
    assert all(g is None for g in head)                           # the head is the criterion's


@pytest.mark.parametrize("zero", TERMS)
def test_a_zero_weight_removes_its_term(zero, vix_batch):
    x, y = vix_batch
    torch.manual_seed(0)
    full = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, delays=20)
    weights = {f"{name}_weight": 0.0 if name == zero else 1.0 for name in TERMS}
    part = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, delays=20, **weights)
    part.load_state_dict(full.state_dict())
    full(x)
    part(x)
    with torch.no_grad():
        states = full._states(x)
        terms = full._terms(states, full.encoder(states), full.koopman_matrix())
    torch.testing.assert_close(part.auxiliary_loss(y), full.auxiliary_loss(y) - terms[zero],
                               rtol=1e-5, atol=1e-6)
    # and with no term at all, the auxiliary loss is zero and trains nothing
    none = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, delays=20,
                       **{f"{name}_weight": 0.0 for name in TERMS})
    none(x)
    aux = none.auxiliary_loss(y)
    assert float(aux) == 0.0 and not aux.requires_grad


# ----------------------------------------------------------------------------- stability
def test_stable_operator_has_its_spectrum_inside_the_unit_circle_whatever_the_weights():
    torch.manual_seed(0)
    for latent_dim in (1, 2, 7, 8):
        net = DeepKoopman(n_features=1, window=10, horizon=1, n_targets=1,
                          latent_dim=latent_dim)
        assert (_stable_eigs(net) < 1).all()                      # at initialisation
        with torch.no_grad():
            for p in (net.det_logit, net.trace_logit, net.real_logit):
                if p is not None:
                    p.copy_(torch.randn_like(p) * 30)             # wild, saturating values
        assert (_stable_eigs(net) <= 1 + 1e-6).all()
        # the eigenvalues read off the blocks are K's own (LAPACK's, in any order)
        read = net.eigenvalues().detach().to(torch.complex128)
        lapack = torch.linalg.eigvals(net.koopman_matrix().detach().double())
        for v in read:
            assert (lapack - v).abs().min() < 1e-5
        k = net.koopman_matrix().detach().double()
        torch.testing.assert_close(k @ k.T, k.T @ k)              # normal: ||K|| = rho(K)


def test_stable_after_training_on_real_data_with_a_large_learning_rate(vix_batch):
    """Adam at lr=0.5 on real log-VIX windows: the constraint holds; unconstrained K drifts."""
    x, y = vix_batch
    radius, nets = {}, {}
    for stable in (True, False):
        torch.manual_seed(0)
        net = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, stable=stable)
        opt = torch.optim.Adam(net.parameters(), lr=0.5)
        for _ in range(60):
            opt.zero_grad()
            loss = ((net(x)[..., 0] - y) ** 2).mean() + net.auxiliary_loss(y)
            loss.backward()
            opt.step()
            if stable:
                assert (_stable_eigs(net) <= 1 + 1e-6).all()      # after every step
        radius[stable], nets[stable] = float(_stable_eigs(net).max()), net
    print(f"spectral radius after training: stable {radius[True]:.4f}, "
          f"unconstrained {radius[False]:.4f}")
    assert radius[True] <= 1 + 1e-6
    assert radius[False] > 1                                      # the option does something
    with torch.no_grad():
        z = nets[True].eval().explain(x, steps=300)["latent_forecast"].norm(dim=-1)
    assert torch.isfinite(z).all() and (z.diff(dim=1) <= 1e-4 * z[:, :1]).all()  # never grows


def test_unstable_option_can_grow(real_batch):
    x, _ = real_batch
    torch.manual_seed(0)
    net = DeepKoopman(n_features=2, window=20, horizon=1, n_targets=1, stable=False).eval()
    with torch.no_grad():
        net.weight.mul_(1.2)                                      # moduli 0.9 -> 1.08
        assert float(_stable_eigs(net).max()) > 1
        z = net.explain(x, steps=60)["latent_forecast"].norm(dim=-1)
    assert (z[:, -1] > 10 * z[:, 0]).all()                        # the rollout explodes


# ----------------------------------------------------------------------------- spectrum
def _set_rotation(net, radius, period):
    """Hand-set K: one 2 x 2 damped rotation by 2 pi / period, the rest decaying by 0.5."""
    angle = 2 * math.pi / period
    with torch.no_grad():
        if net.stable:
            det = torch.tensor([radius ** 2, 0.25])
            trace = torch.tensor([2 * radius * math.cos(angle), 1.0])   # 0.5, 0.5 (real)
            net.det_logit.copy_(torch.atanh(det))
            net.trace_logit.copy_(torch.atanh(trace / (1 + det)))
        else:
            k = torch.zeros(4, 4)
            c, s = math.cos(angle), math.sin(angle)
            k[:2, :2] = radius * torch.tensor([[c, -s], [s, c]])
            k[2:, 2:] = 0.5 * torch.eye(2)
            net.weight.copy_(k)


@pytest.mark.parametrize("stable", [True, False])
def test_explain_reads_periods_and_decays_of_a_hand_set_operator(stable, real_batch):
    x, _ = real_batch
    net = DeepKoopman(n_features=2, window=20, horizon=3, n_targets=1, latent_dim=4,
                      stable=stable).eval()
    _set_rotation(net, 0.9, 5.0)
    with torch.no_grad():
        parts = net.explain(x[:2])
    eig = parts["eigenvalues"][0]
    torch.testing.assert_close(eig.abs(), torch.tensor([0.9, 0.9, 0.5, 0.5]),
                               rtol=0, atol=2e-3)
    periods, decays = parts["periods"][0], parts["decay_rates"][0]
    torch.testing.assert_close(periods[:2], torch.tensor([5.0, 5.0]), rtol=1e-4, atol=0)
    assert torch.isinf(periods[2:]).all()                         # real positive: no cycle
    torch.testing.assert_close(decays, -torch.log(torch.tensor([0.9, 0.9, 0.5, 0.5])),
                               rtol=0, atol=5e-3)
    torch.testing.assert_close(parts["half_lives"][0], math.log(2) / decays)
    assert (eig[0].imag > 0) and torch.isclose(eig[1], eig[0].conj())  # conjugates adjacent
    torch.testing.assert_close(parts["eigenvalues"][1], eig)      # shared by every window


def test_negative_real_eigenvalue_alternates_with_period_two(real_batch):
    net = DeepKoopman(n_features=2, window=4, horizon=1, n_targets=1, latent_dim=1).eval()
    with torch.no_grad():
        net.real_logit.fill_(math.atanh(-0.5))
        parts = net.explain(real_batch[0][:1, -4:])
    assert float(parts["periods"][0, 0]) == pytest.approx(2.0)
    assert float(parts["half_lives"][0, 0]) == pytest.approx(1.0)


def test_no_hidden_layer_gives_linear_maps(vix_batch):
    x, y = vix_batch
    torch.manual_seed(0)
    net = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, num_layers=0,
                      latent_dim=3)
    assert [type(m).__name__ for m in net.encoder] == ["Linear"]
    assert [type(m).__name__ for m in net.decoder] == ["Linear"]
    out = net(x)
    aux = net.auxiliary_loss(y)
    assert out.shape == (64, 5, 1, 1) and torch.isfinite(aux) and aux > 0


# ----------------------------------------------------------------------------- training
def test_overfits_one_real_batch_with_the_koopman_losses(vix_batch, overfit):
    x, y = vix_batch
    torch.manual_seed(0)
    net = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, hidden_size=64)
    first, last = overfit(net, (x,), y, auxiliary=True)
    assert last < 0.1 * first, (first, last)


def test_float64_end_to_end(vix_batch):
    x, y = (t.double() for t in vix_batch)
    torch.manual_seed(0)
    net = DeepKoopman(n_features=1, window=30, horizon=5, n_targets=1, output="quantile",
                      quantiles=(0.1, 0.5, 0.9)).double()
    out = net(x)
    aux = net.auxiliary_loss(y)
    assert out.dtype == aux.dtype == torch.float64
    parts = net.eval().explain(x)
    assert parts["eigenvalues"].dtype == torch.complex128
    assert parts["latent"].dtype == parts["periods"].dtype == torch.float64


def test_engine_adds_the_koopman_losses_on_training_batches(log_vix):
    series = log_vix[-900:].view(-1, 1)
    ds = WindowDataset(series, torch.arange(29, 895), window=30, targets=series,
                       target_offsets=torch.arange(1, 6))
    net = SkfinNet(DeepKoopman, PointLoss(), module__n_features=1, module__window=30,
                   module__horizon=5, module__n_targets=1, module__hidden_size=16,
                   optimizer=torch.optim.AdamW, lr=1e-2, batch_size=128, seed=0,
                   max_epochs=2, train_split=TimeOrderedSplit(0.2, gap=34)).fit(ds)
    assert np.isfinite(net.history[-1, "valid_loss"])
    x, y = ds[torch.arange(64)]
    net.module_.train()
    out = net.infer(x)
    cached = net.module_._aux
    criterion = PointLoss()(out, y).item()
    train_loss = net.get_loss(out, y, training=True).item()
    net.module_._aux = cached
    assert train_loss == pytest.approx(criterion + net.module_.auxiliary_loss(y).item(), rel=1e-5)
    assert train_loss > criterion
    assert net.get_loss(out, y, training=False).item() == pytest.approx(criterion, rel=1e-6)
    pickle.loads(pickle.dumps(net))                               # no autograd graph is kept
    copy.deepcopy(net.module_)


def test_bad_configurations_raise_clear_errors():
    with pytest.raises(ValueError, match="delays <= window"):
        DeepKoopman(1, 4, 1, 1, delays=5)
    with pytest.raises(ValueError, match="linearity_weight >= 0"):
        DeepKoopman(1, 4, 1, 1, linearity_weight=-1.0)
    with pytest.raises(ValueError, match="latent_dim to be an integer >= 1"):
        DeepKoopman(1, 4, 1, 1, latent_dim=0)
    with pytest.raises(ValueError, match="steps >= 1"):
        DeepKoopman(1, 4, 1, 1).explain(torch.ones(1, 4, 1), steps=0)


# ----------------------------------------------------------------------------- plot
def test_plot_koopman_spectrum_draws_each_mode_once_labelled(real_batch):
    from skfin.plotting import plot_koopman_spectrum

    net = DeepKoopman(n_features=2, window=20, horizon=3, n_targets=1, latent_dim=4).eval()
    _set_rotation(net, 0.9, 5.0)
    with torch.no_grad():
        parts = net.explain(real_batch[0][:3])
    fig = plot_koopman_spectrum(parts)                            # the dict, as explain gives it
    ax = fig.axes[0]
    cycles, still = ax.collections                                # oscillating, real modes
    assert len(cycles.get_offsets()) == 2 and len(still.get_offsets()) == 2
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels[0].startswith("T=5, t½=6.58")                   # log 2 / -log 0.9 = 6.58
    assert labels[1:] == ["t½=1"]                   # the repeated 0.5 (one step), labelled once
    assert ax.get_xlim()[1] >= 1                                  # the unit circle is shown
    # a tensor, a numpy array and a list of complex numbers give the same points
    eig = parts["eigenvalues"][0]
    for given in (eig, eig.numpy(), list(eig.numpy())):
        points = plot_koopman_spectrum(given, annotate=False).axes[0].collections[0]
        np.testing.assert_allclose(points.get_offsets(), cycles.get_offsets())
    with pytest.raises(ValueError, match="'eigenvalues' entry"):
        plot_koopman_spectrum({"latent": parts["latent"]})
