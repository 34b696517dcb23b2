"""PyTorch CPU side of bench/suite.ts: a line-oriented JSON server, so the TypeScript driver can
alternate repetitions between kdgpu, TensorFlow.js and PyTorch in one run. The conv rows come
from bench/cnn_torch.py and the models and the distillation loss from bench/kd_torch.py.

stdin, one JSON object per line:
  {"cmd": "setup", "id": "matmul 256", "kind": "matmul", "m": 256, "k": 256, "n": 256}
  {"cmd": "setup", "id": "...", "kind": "conv", "row": "conv2", "mode": "fwdbwd", "batch": 256, "conv2_size": 27}
  {"cmd": "setup", "id": "...", "kind": "convpass", "c": 32, "o": 64, "s": 25, "pass": "fwd" | "dx" | "dw", "batch": 256}
  {"cmd": "setup", "id": "...", "kind": "step", "model": "mnist-mlp-student", "batch": 256}
  {"cmd": "setup", "id": "...", "kind": "distill", "teacher": "hinton-mlp-teacher", "student": "mnist-mlp-student",
   "batch": 256, "T": 4.0, "alpha": 0.9}
  {"cmd": "run", "id": "..."}      (one repetition, timed here: wall_ms, cpu_ms)
  {"cmd": "drop", "id": "..."}
  {"cmd": "quit"}
stdout, one JSON object per line: {"ok": true, ...} or {"ok": false, "error": "..."}; the first
line is {"ok": true, "torch": version, "threads": n}. Training steps: the model in train mode
(dropout on), Adam 1e-3, zero_grad + forward + loss + backward + step on a fixed random batch;
the distillation step runs the teacher in eval mode under no_grad first.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in bench/ for the two modules below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cnn_torch  # noqa: E402
import kd_torch  # noqa: E402

cases = {}


def batch_of(batch, g):
    x = torch.rand(batch, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    return x, y


def setup(msg):
    kind = msg["kind"]
    g = torch.Generator().manual_seed(1)
    if kind == "matmul":
        a = torch.rand(msg["m"], msg["k"], generator=g) * 2 - 1
        b = torch.rand(msg["k"], msg["n"], generator=g) * 2 - 1

        def run():
            with torch.no_grad():
                torch.mm(a, b)

        return run
    if kind == "conv":
        row, mode = msg["row"], msg["mode"]
        cnn_torch.setup(row, msg["batch"], msg.get("conv2_size", 27))
        return lambda: cnn_torch.run(row, mode)
    if kind == "convpass":
        # One pass of a 3×3 'valid' conv layer (bench/lib/suite-conv-cases.ts): forward + bias +
        # ReLU, input gradient, or weight + bias gradient, through aten's convolution_backward.
        B, C, O, S, p = msg["batch"], msg["c"], msg["o"], msg["s"], msg["pass"]
        r = lambda *s: torch.rand(*s, generator=g) * 2 - 1  # noqa: E731
        x, w, b, dy = r(B, C, S, S), r(O, C, 3, 3) / 3, r(O) * 0.1, r(B, O, S - 2, S - 2)

        def run():
            with torch.no_grad():
                if p == "fwd":
                    F.conv2d(x, w, b).relu()
                elif p == "dx":
                    torch.nn.grad.conv2d_input(x.shape, w, dy)
                else:
                    torch.nn.grad.conv2d_weight(x, w.shape, dy)
                    dy.sum((0, 2, 3))

        return run
    if kind in ("step", "distill"):
        x, y = batch_of(msg["batch"], g)
        return kd_torch.bench_step(msg, x, y)
    raise ValueError(f"unknown kind {kind}")


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if isinstance(out, tuple):  # cnn_torch.run times itself
        return out
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def blas_library():
    """The BLAS this process runs matmuls with, from the shared objects mapped after one matmul.

    Debian's torch links libblas.so.3, which is the reference BLAS (~6 GFLOP/s at 1024) unless an
    optimized one such as libopenblas0-pthread is installed (scripts/setup-bench.sh)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path)
            if any(k in name for k in ("openblas", "blis", "mkl", "libblas", "atlas")):
                libs.add(os.path.realpath(path))
    names = sorted(libs)
    if any("openblas" in n for n in names):
        kind = "OpenBLAS"
    elif any("mkl" in n for n in names):
        kind = "MKL"
    elif any("blis" in n for n in names):
        kind = "BLIS"
    elif any("atlas" in n for n in names):
        kind = "ATLAS"
    elif names:
        kind = "reference BLAS"
    else:
        kind = "built-in"
    return kind, names


def main():
    # All the cores this process may use (the default can be 1 in containers), unless set explicitly.
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    blas, libs = blas_library()
    print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas, "blasLibraries": libs}), flush=True)
    for line in sys.stdin:
        try:
            msg = json.loads(line)
            cmd = msg["cmd"]
            if cmd == "quit":
                break
            if cmd == "setup":
                cases[msg["id"]] = setup(msg)
                print(json.dumps({"ok": True}), flush=True)
            elif cmd == "run":
                wall, cpu = timed(cases[msg["id"]])
                print(json.dumps({"ok": True, "wall_ms": wall, "cpu_ms": cpu}), flush=True)
            elif cmd == "drop":
                cases.pop(msg["id"], None)
                print(json.dumps({"ok": True}), flush=True)
            else:
                raise ValueError(f"unknown command {cmd}")
        except Exception as e:  # reported to the driver
            print(json.dumps({"ok": False, "error": repr(e)}), flush=True)


if __name__ == "__main__":
    main()
