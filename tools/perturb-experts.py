#!/usr/bin/env python3
"""Adds a small seeded change to some experts of a legacy Mixtral checkpoint, in place, for the diff screenshot.

    tools/perturb-experts.py DIR LAYER:EXPERT[,EXPERT...] [LAYER:EXPERT...] [--scale S]

Each listed expert's w1, w2 and w3 (model.layers.L.block_sparse_moe.experts.E.wN.weight) get every element
multiplied by (1 + S * u), u uniform in [-1, 1) from a generator seeded by the key (S = 0.01 by default), as a
fine-tune that moved those experts a little would. Works on float32 and bfloat16 tensors of the .safetensors files
in DIR (or on one file), with the Python standard library only; the file keeps its size and header.
"""
import json
import pathlib
import random
import struct
import sys


def experts(args):
    out = {}
    for a in args:
        layer, es = a.split(":")
        for e in es.split(","):
            for w in ("w1", "w2", "w3"):
                out[f"model.layers.{int(layer)}.block_sparse_moe.experts.{int(e)}.{w}.weight"] = True
    return out


def perturb(path, keys, scale):
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        for key, t in header.items():
            if key not in keys:
                continue
            begin, end = t["data_offsets"]
            f.seek(base + begin)
            raw = bytearray(f.read(end - begin))
            rng = random.Random(key)
            if t["dtype"] == "F32":
                vals = struct.unpack(f"<{len(raw) // 4}f", raw)
                raw = struct.pack(f"<{len(vals)}f", *(v * (1 + scale * rng.uniform(-1, 1)) for v in vals))
            elif t["dtype"] == "BF16":
                bits = struct.unpack(f"<{len(raw) // 2}H", raw)
                out = []
                for b in bits:
                    v = struct.unpack("<f", struct.pack("<I", b << 16))[0] * (1 + scale * rng.uniform(-1, 1))
                    u = struct.unpack("<I", struct.pack("<f", v))[0]
                    out.append(((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF)  # round to nearest even
                raw = struct.pack(f"<{len(out)}H", *out)
            else:
                sys.exit(f"perturb-experts: {key} is {t['dtype']}, only F32 and BF16 are handled")
            f.seek(base + begin)
            f.write(raw)
            keys[key] = False
            print(f"perturbed {key}", file=sys.stderr)


def main():
    argv = sys.argv[1:]
    scale = 0.01
    if "--scale" in argv:
        i = argv.index("--scale")
        scale = float(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 2:
        sys.exit(__doc__)
    target = pathlib.Path(argv[0])
    keys = experts(argv[1:])
    files = [target] if target.is_file() else sorted(target.glob("*.safetensors"))
    for p in files:
        perturb(p, keys, scale)
    missing = [k for k, todo in keys.items() if todo]
    if missing:
        sys.exit(f"perturb-experts: not found: {', '.join(missing)}")


if __name__ == "__main__":
    main()
