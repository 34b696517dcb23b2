"""PyTorch on CUDA for the device bundle's bench (bench/device/bench.ts): the same line-oriented JSON
protocol as bench/suite_torch.py (setup / run / drop / quit), with every case on the GPU and each
run timed to completion (torch.cuda.synchronize). Models and the distillation loss come from
bench/kd_torch.py (copied beside this file in the bundle).

The first line printed is {"ok": true, "torch": version, "threads": n, "device": name}; when
CUDA is unavailable it is {"ok": false, "error": "..."} and the script exits.
KDGPU_TORCH_DEVICE=cpu runs the same cases on the CPU (to check this script where no GPU is).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # kd_torch.py: beside it in the bundle, in bench/ in the repository

cases = {}
DEV = os.environ.get("KDGPU_TORCH_DEVICE", "cuda")


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def rand(g, *shape):
    return (torch.rand(*shape, generator=g) * 2 - 1).to(DEV)


def setup(msg):
    kind = msg["kind"]
    g = torch.Generator().manual_seed(1)
    if kind == "matmul":
        a, b = rand(g, msg["m"], msg["k"]), rand(g, msg["k"], msg["n"])

        def run():
            with torch.no_grad():
                torch.mm(a, b)

        return run
    if kind == "conv":
        row, batch, s2 = msg["row"], msg["batch"], msg.get("conv2_size", 27)
        if row == "conv1":
            x, w, b = rand(g, batch, 1, 28, 28), rand(g, 32, 1, 3, 3) / 3, rand(g, 32) * 0.1
            need = (False, True, True)
        else:
            x, w, b = rand(g, batch, 32, s2, s2), rand(g, 64, 32, 3, 3) / 17, rand(g, 64) * 0.1
            need = (True, True, True)
        args = tuple(t.clone().requires_grad_(n) for t, n in zip((x, w, b), need))
        with torch.no_grad():
            dy = torch.rand_like(F.conv2d(*args).relu()) * 2 - 1

        def run():
            for t in args:
                t.grad = None
            F.conv2d(*args).relu().backward(dy)

        return run
    if kind == "convpass":
        # One pass of a 3×3 'valid' conv layer, as in bench/suite_torch.py (bench/lib/suite-conv-cases.ts).
        B, C, O, S, p = msg["batch"], msg["c"], msg["o"], msg["s"], msg["pass"]
        x, w, b, dy = rand(g, B, C, S, S), rand(g, O, C, 3, 3) / 3, rand(g, O) * 0.1, rand(g, B, O, S - 2, S - 2)

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
        import kd_torch  # noqa: E402 (numpy and torch.nn; only when a model is needed)

        x = torch.rand(msg["batch"], 1, 28, 28, generator=g).to(DEV)
        y = torch.randint(0, 10, (msg["batch"],), generator=g).to(DEV)
        return kd_torch.bench_step(msg, x, y, DEV)
    raise ValueError(f"unknown kind {kind}")


def timed(fn):
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    sync()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def main():
    if DEV == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"ok": False, "error": f"torch {torch.__version__}: CUDA is not available"}), flush=True)
        return
    # float32 as kdgpu computes it: no TF32 in matmuls or convolutions.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name(0) if DEV == "cuda" else "CPU (KDGPU_TORCH_DEVICE=cpu)"
    info = {"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": name}
    print(json.dumps(info), flush=True)
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
                if DEV == "cuda":
                    torch.cuda.empty_cache()
                print(json.dumps({"ok": True}), flush=True)
            else:
                raise ValueError(f"unknown command {cmd}")
        except Exception as e:  # reported to the driver
            print(json.dumps({"ok": False, "error": repr(e)}), flush=True)


if __name__ == "__main__":
    main()
