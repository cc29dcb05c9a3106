"""Exporter round trip: an nn.Sequential exported, loaded by the real daemon, and the daemon's loss,
gradient norm and top Hessian eigenvalue compared with PyTorch's own in float64.

Tolerance 1e-5 relative (the brief's): both sides compute in float64 from the same F64 weights, so
they agree to ~1e-12; 1e-5 leaves room for summation order and Lanczos's residual tolerance (1e-10
relative to the spectrum scale, so the top eigenvalue is accurate to far better than 1e-5).
"""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch", reason="the exporter tests need torch (torch CPU is installed in CI)")
np = pytest.importorskip("numpy")
nn = torch.nn

from conftest import flat_loss, needs  # noqa: E402
from saddle_bridge import ExportError, export_sequential, read_safetensors, sequential_spec  # noqa: E402

REL = 1e-5


def rel_close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def mixed_mlp() -> nn.Sequential:
    """Every supported module kind: folded activations, a standalone activation, Identity, LayerNorm."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(3, 5), nn.Tanh(),               # 0, 1
        nn.LayerNorm(5),                          # 2
        nn.GELU(),                                # 3 (standalone: follows LayerNorm)
        nn.Linear(5, 4), nn.LeakyReLU(0.2),       # 4, 5
        nn.Linear(4, 4), nn.Softplus(),           # 6, 7
        nn.Linear(4, 3), nn.Identity(),           # 8, 9 (Identity stays its own module)
        nn.Linear(3, 3), nn.Sigmoid(),            # 10, 11
        nn.Linear(3, 2),                          # 12
    ).double()


def test_spec_mapping_and_names():
    spec, names = sequential_spec(mixed_mlp(), 3, "mse")
    assert spec["input"] == 3 and spec["loss"] == "mse"
    assert spec["layers"] == [
        {"kind": "dense", "units": 5, "bias": True, "activation": "tanh"},
        {"kind": "layernorm", "eps": 1e-5},
        {"kind": "activation", "activation": "gelu"},
        {"kind": "dense", "units": 4, "bias": True, "activation": "leakyRelu", "negativeSlope": 0.2},
        {"kind": "dense", "units": 4, "bias": True, "activation": "softplus"},
        {"kind": "dense", "units": 3, "bias": True},
        {"kind": "activation", "activation": "identity"},
        {"kind": "dense", "units": 3, "bias": True, "activation": "sigmoid"},
        {"kind": "dense", "units": 2, "bias": True},
    ]
    assert names == list(mixed_mlp().state_dict().keys())


@pytest.mark.parametrize("model,needle", [
    (nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.1)), "module 1 (Dropout"),
    (nn.Sequential(nn.Conv1d(1, 1, 2)), "module 0 (Conv1d"),
    (nn.Sequential(nn.Linear(4, 2)), "takes 4 inputs but receives 3"),
    (nn.Sequential(nn.Linear(3, 2), nn.GELU(approximate="tanh")), "exact"),
    (nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2, elementwise_affine=False)), "learnable scale"),
])
def test_unsupported_modules_are_named(model, needle):
    with pytest.raises(ExportError, match=needle.replace("(", r"\(")):
        sequential_spec(model, 3, "mse")


def test_losses():
    model = nn.Sequential(nn.Linear(3, 2))
    assert sequential_spec(model, 3, nn.CrossEntropyLoss())[0]["loss"] == "softmaxCrossEntropy"
    assert sequential_spec(model, 3, nn.BCEWithLogitsLoss())[0]["loss"] == "binaryCrossEntropy"
    with pytest.raises(ExportError, match="reduction"):
        sequential_spec(model, 3, nn.MSELoss(reduction="sum"))
    with pytest.raises(ExportError, match="L1Loss"):
        sequential_spec(model, 3, nn.L1Loss())


def test_safetensors_layout(tmp_path):
    model = mixed_mlp()
    export = export_sequential(model, 3, "mse", str(tmp_path / "m"))
    blob = (tmp_path / "m.safetensors").read_bytes()
    header_len = int.from_bytes(blob[:8], "little")
    assert header_len % 8 == 0
    header = json.loads(blob[8:8 + header_len])
    state = model.state_dict()
    assert list(header) == list(state)
    end = 0
    for name, entry in header.items():
        assert entry["dtype"] == "F64" and entry["shape"] == list(state[name].shape)
        assert entry["data_offsets"][0] == end
        end = entry["data_offsets"][1]
    assert len(blob) == 8 + header_len + end
    back = read_safetensors(export.weights_path)
    for name, t in state.items():
        assert back[name][1] == t.reshape(-1).tolist()  # F64: bit-exact
    assert json.loads((tmp_path / "m.json").read_text()) == export.spec
    f32 = export_sequential(model, 3, "mse", str(tmp_path / "m32"), dtype="F32")
    assert (tmp_path / "m32.safetensors").stat().st_size < len(blob)
    assert read_safetensors(f32.weights_path)["0.weight"][1] == model[0].weight.float().double().reshape(-1).tolist()


def _reference(model: nn.Sequential, loss_fn, x, y):
    """Loss, gradient norm and the Hessian's extreme eigenvalues by PyTorch in float64."""
    loss_of, flat0 = flat_loss(model, loss_fn, x, y)

    flat = flat0.clone().requires_grad_(True)
    loss = loss_of(flat)
    (grad,) = torch.autograd.grad(loss, flat)
    hessian = torch.autograd.functional.hessian(loss_of, flat0)
    eig = torch.linalg.eigvalsh((hessian + hessian.T) / 2)
    return float(loss.detach()), float(grad.norm()), float(eig[-1]), float(eig[0])


def _load(client, tmp_path, model, loss, x, y, name):
    export = export_sequential(model, x.shape[1], loss, str(tmp_path / name))
    description = client.request("model/load", export.load_params(name=name))
    assert description["parameterCount"] == sum(p.numel() for p in model.parameters())
    assert [b["name"] for b in description["blocks"]] == list(model.state_dict().keys())
    np.save(tmp_path / f"{name}_x.npy", x.numpy())
    np.save(tmp_path / f"{name}_y.npy", y.numpy())
    dataset = client.request("dataset/load", {"format": "npy", "inputs": str(tmp_path / f"{name}_x.npy"),
                                              "targets": str(tmp_path / f"{name}_y.npy"), "name": name + "-data"})
    assert dataset["samples"] == x.shape[0]
    return description["id"], dataset["id"]


@needs("model/load", "dataset/load")
def test_model_load_accepts_the_export(client, tmp_path):
    model = mixed_mlp()
    torch.manual_seed(1)
    x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    model_id, _ = _load(client, tmp_path, model, "mse", x, y, "mixed")
    saved = tmp_path / "saved.safetensors"
    client.request("model/save", {"model": model_id, "path": str(saved)})
    back = read_safetensors(str(saved))
    for name, t in model.state_dict().items():
        assert back[name][1] == t.reshape(-1).tolist(), name  # F64 through the daemon and back: bit-exact


@needs("model/load", "dataset/load", "curvature/gradient")
@pytest.mark.parametrize("case", ["mse-mixed", "crossEntropy"])
def test_loss_and_gradient_norm_match_pytorch(client, tmp_path, case):
    torch.manual_seed(2)
    if case == "mse-mixed":
        model, loss, loss_fn = mixed_mlp(), "mse", nn.MSELoss()
        x, y = torch.randn(32, 3, dtype=torch.float64), torch.randn(32, 2, dtype=torch.float64)
    else:
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)).double()
        loss, loss_fn = nn.CrossEntropyLoss(), nn.CrossEntropyLoss()
        x, y = torch.randn(40, 4, dtype=torch.float64), torch.randint(0, 3, (40,))
    model_id, data_id = _load(client, tmp_path, model, loss, x, y, case)
    got = client.request("curvature/gradient", {"model": model_id, "dataset": data_id, "precision": "double"}, timeout=120)
    want_loss, want_norm, _, _ = _reference(model, loss_fn, x, y)
    print(f"{case}: daemon {got['loss']!r} {got['gradientNorm']!r} torch {want_loss!r} {want_norm!r}")
    assert rel_close(got["loss"], want_loss), (got["loss"], want_loss)
    assert rel_close(got["gradientNorm"], want_norm), (got["gradientNorm"], want_norm)


@needs("model/load", "dataset/load", "curvature/eigen")
def test_top_and_bottom_hessian_eigenvalues_match_pytorch(client, tmp_path):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2)).double()
    x, y = torch.randn(24, 3, dtype=torch.float64), torch.randn(24, 2, dtype=torch.float64)
    model_id, data_id = _load(client, tmp_path, model, "mse", x, y, "eig")
    got = client.request("curvature/eigen", {"model": model_id, "dataset": data_id, "largest": 1, "smallest": 1,
                                             "tolerance": 1e-10}, timeout=120)
    _, _, want_top, want_bottom = _reference(model, nn.MSELoss(), x, y)
    top, bottom = got["largest"][0]["value"], got["smallest"][0]["value"]
    print(f"eigen: daemon {top!r} {bottom!r} torch {want_top!r} {want_bottom!r}")
    assert rel_close(top, want_top), (top, want_top)
    # The bottom eigenvalue's error is relative to the spectrum's scale (|λ|max), as the daemon's tolerance is.
    assert abs(bottom - want_bottom) <= REL * abs(want_top), (bottom, want_bottom)
