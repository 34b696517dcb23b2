"""PyTorch CPU side of bench/cnn.ts: a line-oriented server so the TypeScript driver can alternate
repetitions between kdgpu, TensorFlow.js and PyTorch in one run.

stdin, one JSON object per line:
  {"cmd": "setup", "row": "conv1", "batch": 256, "conv2_size": 27}
  {"cmd": "run", "row": "conv1", "mode": "fwd" | "fwdbwd"}
  {"cmd": "quit"}
stdout, one JSON object per line: {"ok": true, "wall_ms": ..., "cpu_ms": ...} or {"ok": false, "error": "..."}.
The first line printed is {"ok": true, "torch": version, "threads": n}.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

state = {}


def setup(row, batch, conv2_size):
    g = torch.Generator().manual_seed(1)
    r = lambda *s: torch.rand(*s, generator=g) * 2 - 1  # noqa: E731
    if row == "conv1":
        x = r(batch, 1, 28, 28)
        w, b = r(32, 1, 3, 3) / 3, r(32) * 0.1
        args, grad_of = (x, w, b), (False, True, True)
        fn = lambda x, w, b: F.conv2d(x, w, b).relu()  # noqa: E731
    elif row == "pool1":
        args, grad_of = (r(batch, 32, 26, 26),), (True,)
        fn = lambda x: F.max_pool2d(x, 2, 1)  # noqa: E731
    elif row == "conv2":
        x = r(batch, 32, conv2_size, conv2_size)
        w, b = r(64, 32, 3, 3) / 17, r(64) * 0.1
        args, grad_of = (x, w, b), (True, True, True)
        fn = lambda x, w, b: F.conv2d(x, w, b).relu()  # noqa: E731
    elif row == "pool2":
        s = conv2_size - 2
        args, grad_of = (r(batch, 64, s, s),), (True,)
        fn = lambda x: F.max_pool2d(x, 2, 2)  # noqa: E731
    elif row == "softmax_ce":
        labels = torch.randint(0, 10, (batch,), generator=g)
        args, grad_of = (r(batch, 10) * 3,), (True,)
        fn = lambda z: F.cross_entropy(z, labels)  # noqa: E731
    else:
        raise ValueError(f"unknown row {row}")
    args = tuple(a.clone().requires_grad_(need) for a, need in zip(args, grad_of))
    with torch.no_grad():
        y = fn(*args)
    dy = None if y.dim() == 0 else torch.rand(y.shape, generator=g) * 2 - 1
    state[row] = (fn, args, dy)


def run(row, mode):
    fn, args, dy = state[row]
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "fwd":
        with torch.no_grad():
            fn(*args)
    else:
        for a in args:
            a.grad = None
        y = fn(*args)
        y.backward(dy)
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def main():
    # All the cores this process may use (the default can be 1 in containers), unless set explicitly.
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        try:
            msg = json.loads(line)
            if msg["cmd"] == "quit":
                break
            if msg["cmd"] == "setup":
                setup(msg["row"], msg["batch"], msg.get("conv2_size", 27))
                print(json.dumps({"ok": True}), flush=True)
            elif msg["cmd"] == "run":
                wall, cpu = run(msg["row"], msg["mode"])
                print(json.dumps({"ok": True, "wall_ms": wall, "cpu_ms": cpu}), flush=True)
            else:
                raise ValueError(f"unknown command {msg['cmd']}")
        except Exception as e:  # reported to the driver, which fails loudly
            print(json.dumps({"ok": False, "error": repr(e)}), flush=True)


if __name__ == "__main__":
    main()
