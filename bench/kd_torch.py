"""PyTorch side of the distillation benchmarks (bench/kd-parity.ts and bench/kd-pays.ts run the
same recipes in kdgpu). CPU, float32, run with the Debian torch:

    /usr/bin/python3 bench/kd_torch.py parity [--teacher bench/results/kd-parity-teacher.safetensors]
    /usr/bin/python3 bench/kd_torch.py pays [--teacher assets/fashion-teacher.safetensors] [--train 1000] [--epochs 120] [--out FILE]
    /usr/bin/python3 bench/kd_torch.py teacher [--model mnist-cnn-teacher] [--epochs 5] [--out bench/results/pays-teacher.safetensors]
      trains a teacher on all 60,000 training images (Adam 1e-3, batch 128, seed 0) and writes it
      as a kdgpu weights file (PyTorch state_dict names, metadata kdgpu.model), which both engines load

parity: Fashion-MNIST, the first 12,000 training images, the 10,000 test images, batch 256,
  Adam 1e-3, T=4, alpha=0.5. A `mnist-cnn-teacher` trained 3 epochs by PyTorch (seeds 0-2) gives
  the teacher-recipe accuracy; the teacher trained by kdgpu (its safetensors file) is then the
  teacher of, per seed 0-2, 2 epochs each of: the scratch `mnist-mlp-student`, the KD student,
  the assistant `mnist-cnn-ta` distilled from the teacher, the student distilled from the assistant.
pays: a well-trained teacher, a 784-256-256-10 student on a small labelled transfer set (the
  first --train images) for many epochs, KD (T=4, alpha=0.9) vs scratch from the same weights
  and batches, seeds 0-2.
Writes bench/results/kd-<mode>-torch.json. alpha weighs the distillation term:
  loss = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) (batchmean) + (1 - alpha) * CE(s, y).
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion(split):
    pre = "train" if split == "train" else "t10k"
    x = read_idx(f"{FMNIST}/{pre}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = read_idx(f"{FMNIST}/{pre}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(x).reshape(-1, 1, 28, 28), torch.from_numpy(y)


def read_safetensors(path, with_meta=False):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    meta = header.get("__metadata__", {})
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        assert v["dtype"] == "F32", (name, v["dtype"])
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype=np.float32, count=(e - s) // 4, offset=8 + n + s).copy()).reshape(v["shape"])
    return (out, meta) if with_meta else out


def write_safetensors(path, state, meta):
    """safetensors: u64 header length, JSON header (padded to 8 bytes), little-endian F32 data."""
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in state.items():
        b = t.detach().float().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def mnist_cnn(filters, dropout, first_pool_stride):
    s1 = 26
    p1 = (s1 - 2) // first_pool_stride + 1
    p2 = (p1 - 2 - 2) // 2 + 1
    return nn.Sequential(
        nn.Conv2d(1, filters[0], 3), nn.ReLU(), nn.MaxPool2d(2, stride=first_pool_stride),
        nn.Conv2d(filters[0], filters[1], 3), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(filters[1] * p2 * p2, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, 10),
    )


MODELS = {
    "mnist-cnn-teacher": lambda: mnist_cnn((32, 64), 0.5, 1),
    "mnist-cnn-ta": lambda: mnist_cnn((16, 32), 0.25, 1),
    "mnist-cnn-small": lambda: mnist_cnn((32, 64), 0.5, 2),
    "mnist-mlp-student": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 784), nn.ReLU(), nn.Linear(784, 784), nn.ReLU(), nn.Linear(784, 10)),
    "hinton-mlp-teacher": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 1200), nn.ReLU(), nn.Dropout(0.3), nn.Linear(1200, 1200), nn.ReLU(), nn.Dropout(0.3), nn.Linear(1200, 10)),
    "mlp-256": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)),
}


def build(name, seed):
    torch.manual_seed(seed)
    return MODELS[name]()


@torch.no_grad()
def logits_of(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])


def accuracy(model, x, y):
    return (logits_of(model, x).argmax(1) == y).float().mean().item()


def kd_loss(s, t_logits, y, T, alpha):
    kl = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean") * T * T
    return alpha * kl + (1 - alpha) * F.cross_entropy(s, y)


def bench_step(msg, x, y, device="cpu"):
    """One benchmark training step of a suite case ({"kind": "step", "model"} or {"kind": "distill",
    "teacher", "student", "T", "alpha"}) on the fixed batch x, y: a function running forward, loss
    (cross-entropy, or kd_loss against the frozen teacher's logits), backward and Adam 1e-3.
    Shared by bench/suite_torch.py (CPU) and bench/device/torch_cuda.py (CUDA)."""
    distill = msg["kind"] == "distill"
    model = build(msg["student"] if distill else msg["model"], 0).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    teacher = build(msg["teacher"], 1).to(device).eval() if distill else None
    T, alpha = msg.get("T", 4.0), msg.get("alpha", 0.9)

    def run():
        opt.zero_grad()
        s = model(x)
        if teacher is None:
            loss = F.cross_entropy(s, y)
        else:
            with torch.no_grad():
                t = teacher(x)
            loss = kd_loss(s, t, y, T, alpha)
        loss.backward()
        opt.step()

    return run


def train(model, x, y, epochs, seed, batch=256, teacher=None, T=4.0, alpha=0.5, test=None, curve_every=0):
    """Adam 1e-3; a seeded shuffle; the teacher (if any) runs in eval mode on each batch."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    curve = []
    if teacher is not None:
        teacher.eval()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            s = model(x[idx])
            if teacher is None:
                loss = F.cross_entropy(s, y[idx])
            else:
                with torch.no_grad():
                    t = teacher(x[idx])
                loss = kd_loss(s, t, y[idx], T, alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if curve_every and test is not None and (epoch % curve_every == 0 or epoch == epochs):
            curve.append({"epoch": epoch, "accuracy": accuracy(model, *test)})
            print(f"  epoch {epoch}: {curve[-1]['accuracy']:.4f}", flush=True)
    return curve


def parity(args):
    xtr, ytr = fashion("train")
    xte, yte = fashion("test")
    xtr, ytr = xtr[:12000], ytr[:12000]
    out = {"engine": f"pytorch {torch.__version__} cpu ({torch.get_num_threads()} threads)", "recipe": "parity", "teacherRecipe": [], "runs": []}
    for seed in (0, 1, 2):
        t0 = time.time()
        m = build("mnist-cnn-teacher", seed)
        train(m, xtr, ytr, 3, seed)
        out["teacherRecipe"].append({"seed": seed, "accuracy": accuracy(m, xte, yte), "seconds": time.time() - t0})
        print("torch teacher recipe", out["teacherRecipe"][-1], flush=True)
    teacher = build("mnist-cnn-teacher", 0)
    teacher.load_state_dict(read_safetensors(args.teacher))
    out["kdgpuTeacherAccuracy"] = accuracy(teacher, xte, yte)
    print("kdgpu teacher in torch", out["kdgpuTeacherAccuracy"], flush=True)
    for seed in (0, 1, 2):
        for role, name, t in [("scratch", "mnist-mlp-student", None), ("kd", "mnist-mlp-student", teacher), ("assistant", "mnist-cnn-ta", teacher)]:
            t0 = time.time()
            m = build(name, seed)
            train(m, xtr, ytr, 2, seed, teacher=t, T=4.0, alpha=0.5)
            out["runs"].append({"seed": seed, "role": role, "accuracy": accuracy(m, xte, yte), "seconds": time.time() - t0})
            print(out["runs"][-1], flush=True)
            if role == "assistant":
                assistant = m
        t0 = time.time()
        m = build("mnist-mlp-student", seed)
        train(m, xtr, ytr, 2, seed, teacher=assistant, T=4.0, alpha=0.5)
        out["runs"].append({"seed": seed, "role": "student-via-assistant", "accuracy": accuracy(m, xte, yte), "seconds": time.time() - t0})
        print(out["runs"][-1], flush=True)
    return out


def pays(args):
    xtr, ytr = fashion("train")
    xte, yte = fashion("test")
    xtr, ytr = xtr[: args.train], ytr[: args.train]
    state, meta = read_safetensors(args.teacher, with_meta=True)
    teacher = build(meta.get("kdgpu.model", "mnist-cnn-small"), 0)
    teacher.load_state_dict(state)
    out = {"engine": f"pytorch {torch.__version__} cpu", "recipe": "pays", "train": args.train, "epochs": args.epochs, "T": 4.0, "alpha": 0.9,
           "teacherAccuracy": accuracy(teacher, xte, yte), "runs": []}
    print("teacher", out["teacherAccuracy"], flush=True)
    curve_test = (xte[:2000], yte[:2000])
    for seed in (0, 1, 2):
        for role in ("scratch", "kd"):
            t0 = time.time()
            m = build("mlp-256", 100 + seed)
            curve = train(m, xtr, ytr, args.epochs, seed, teacher=teacher if role == "kd" else None, T=4.0, alpha=0.9, test=curve_test, curve_every=10)
            out["runs"].append({"seed": seed, "role": role, "accuracy": accuracy(m, xte, yte), "seconds": time.time() - t0, "curve": curve})
            print({k: v for k, v in out["runs"][-1].items() if k != "curve"}, flush=True)
    return out


def teacher_mode(args):
    xtr, ytr = fashion("train")
    xte, yte = fashion("test")
    m = build(args.model, 0)
    out = {"engine": f"pytorch {torch.__version__} cpu", "recipe": "teacher", "model": args.model, "epochs": args.epochs, "batch": 128, "epochsLog": []}
    t0 = time.time()
    out["epochsLog"] = train(m, xtr, ytr, args.epochs, 0, batch=128, test=(xte, yte), curve_every=1)
    out["seconds"] = time.time() - t0
    out["accuracy"] = accuracy(m, xte, yte)
    print(out["epochsLog"], out["seconds"], flush=True)
    dest = args.out or os.path.join(ROOT, "bench/results/pays-teacher.safetensors")
    write_safetensors(dest, m.state_dict(), {"kdgpu.model": args.model, "kdgpu.trainedBy": f"bench/kd_torch.py teacher (pytorch {torch.__version__})", "format": "pt"})
    out["weights"] = dest
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["parity", "pays", "teacher"])
    p.add_argument("--model", default="mnist-cnn-teacher")
    p.add_argument("--out", help="pays: the results JSON; teacher: the weights file")
    p.add_argument("--teacher")
    p.add_argument("--train", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=120)
    a = p.parse_args()
    a.teacher = a.teacher or os.path.join(ROOT, "bench/results/kd-parity-teacher.safetensors" if a.mode == "parity" else "assets/fashion-teacher.safetensors")
    torch.set_num_threads(2)
    res = parity(a) if a.mode == "parity" else pays(a) if a.mode == "pays" else teacher_mode(a)
    path = a.out if (a.mode == "pays" and a.out) else os.path.join(ROOT, f"bench/results/kd-{a.mode}-torch.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print("wrote", path)
