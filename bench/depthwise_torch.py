"""PyTorch CPU side of bench/depthwise.ts: times F.conv2d(groups=C) + bias + ReLU6, forward and
forward+backward (gradients for input, weight and bias), on the layers given as JSON on argv[1]:
[{"name": ..., "x": [N, C, H, W], "w": [O, 1, 3, 3], "stride": s, "padding": p, "groups": g}, ...].
argv[2]: repetitions (medians after one warm-up). Prints one JSON object {name: {fwd_ms, fwdbwd_ms}}.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def main():
    layers = json.loads(sys.argv[1])
    reps = int(sys.argv[2])
    g = torch.Generator().manual_seed(1)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for L in layers:
        x = (torch.rand(L["x"], generator=g) * 2 - 1).requires_grad_()
        w = (torch.rand(L["w"], generator=g) * 2 - 1).requires_grad_()
        b = (torch.rand(L["w"][0], generator=g) * 0.2 - 0.1).requires_grad_()

        def fwd():
            return F.relu6(F.conv2d(x, w, b, stride=L["stride"], padding=L["padding"], groups=L["groups"]))

        with torch.no_grad():
            dy = torch.rand(fwd().shape, generator=g) * 2 - 1
        times = {"fwd": [], "fwdbwd": []}
        for r in range(reps + 1):
            t0 = time.perf_counter()
            with torch.no_grad():
                fwd()
            t1 = time.perf_counter()
            x.grad = w.grad = b.grad = None
            fwd().backward(dy)
            t2 = time.perf_counter()
            if r > 0:
                times["fwd"].append((t1 - t0) * 1e3)
                times["fwdbwd"].append((t2 - t1) * 1e3)
        out[L["name"]] = {"fwd_ms": statistics.median(times["fwd"]), "fwdbwd_ms": statistics.median(times["fwdbwd"])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
