"""Exports a torchvision model's weights to safetensors for kdgpu (`mobilenet-v2`, `resnet50`),
keeping torchvision's state_dict names and dtypes, and optionally a reference batch with
PyTorch's eval-mode logits so that kdgpu's forward can be checked against it
(examples/check-torchvision.ts).

    /usr/bin/python3 scripts/export_torchvision.py --model resnet50 --out resnet50.safetensors
    /usr/bin/python3 scripts/export_torchvision.py --model mobilenet_v2 --pretrained --out mnv2.safetensors
    /usr/bin/python3 scripts/export_torchvision.py --model resnet50 --out r50.safetensors \
        --reference r50-ref.safetensors --batch 2 --size 224

Needs torch and torchvision (Debian: apt-get install python3-torchvision). --pretrained downloads
the ImageNet weights through torchvision (internet or a filled torch hub cache); without it the
weights are torchvision's random initialisation with seed --seed, and --random-bn also draws
BatchNorm's affine parameters and running statistics at random (so an eval-mode check is not
blind to them). kdgpu reads the file with `kdgpu.nn.loadWeightsFromBytes` or the CLI's
`--weights`; the metadata names the kdgpu model (kdgpu.model, kdgpu.width, kdgpu.classes).
"""
import argparse
import json
import struct

import torch
import torchvision

MODELS = {"mobilenet_v2": "mobilenet-v2", "resnet50": "resnet50"}
_DT = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32", torch.float64: "F64"}


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for k, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[k] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--out", required=True, help="safetensors file for the weights")
    ap.add_argument("--pretrained", action="store_true", help="torchvision's ImageNet weights (downloads)")
    ap.add_argument("--width", type=float, default=1.0, help="mobilenet_v2 width multiplier")
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-bn", action="store_true", help="random BatchNorm parameters and statistics")
    ap.add_argument("--reference", help="also write an input batch and PyTorch's eval-mode logits here")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    kwargs = {"num_classes": a.classes}
    if a.model == "mobilenet_v2":
        kwargs["width_mult"] = a.width
    if a.pretrained:
        if a.classes != 1000 or a.width != 1.0:
            ap.error("--pretrained needs the 1000-class, width-1 model")
        kwargs = {"weights": "DEFAULT"}
    model = getattr(torchvision.models, a.model)(**kwargs)
    if a.random_bn:
        g = torch.Generator().manual_seed(a.seed + 1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.data = 0.5 + torch.rand(c, generator=g)
                m.bias.data = 0.2 * torch.randn(c, generator=g)
                m.running_mean.data = 0.2 * torch.randn(c, generator=g)
                m.running_var.data = 0.5 + torch.rand(c, generator=g)
    model.eval()
    meta = {"kdgpu.model": MODELS[a.model], "kdgpu.classes": a.classes, "source": f"torchvision {torchvision.__version__} {a.model}"}
    if a.model == "mobilenet_v2":
        meta["kdgpu.width"] = a.width
    sd = model.state_dict()
    write_safetensors(a.out, sd, meta)
    print(f"{a.out}: {len(sd)} tensors, {sum(p.numel() for p in model.parameters()):,} parameters")
    if a.reference:
        x = torch.randn(a.batch, 3, a.size, a.size, generator=torch.Generator().manual_seed(a.seed + 2))
        with torch.no_grad():
            logits = model(x)
        write_safetensors(a.reference, {"input": x, "logits": logits}, {"model": a.model})
        print(f"{a.reference}: input {tuple(x.shape)}, logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()
