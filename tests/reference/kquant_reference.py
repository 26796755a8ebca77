#!/usr/bin/python3
"""Golden blocks for the k-quant decoders (tests/core/kquant_golden_test.cpp): seeded random blocks
of q2_K, q3_K, q4_K, q5_K and q6_K, dequantized by llama.cpp's gguf-py (gguf/quants.py, numpy),
never by src/:

    /usr/bin/python3 tests/reference/kquant_reference.py --gguf-py /work/peers/llama.cpp/gguf-py \
        --out tests/golden/kquant_blocks.json

Every byte of a block is random except its fp16 scales (d, and dmin where the format has one),
which are finite: uniform in [-2, 2), plus one block per format whose scales are subnormal. The
JSON holds, per format, the blocks' bytes (hex) and the expected floats as their IEEE-754 bits
(exact comparison). gguf-py is not committed and CI does not need it: the golden file is.
"""

import argparse
import json
import sys

import numpy as np

BLOCKS = 6
# ggml block layout per format: bytes per 256 weights and the byte offsets of fp16 scales.
FORMATS = {
    "q2_K": (84, [80, 82]),
    "q3_K": (110, [108]),
    "q4_K": (144, [0, 2]),
    "q5_K": (176, [0, 2]),
    "q6_K": (210, [208]),
}


def random_blocks(rng, size, scale_offsets):
    blocks = rng.integers(0, 256, size=(BLOCKS, size), dtype=np.uint8)
    for b in range(BLOCKS):
        for offset in scale_offsets:
            if b == BLOCKS - 1:  # subnormal fp16: 1..1023 times 2^-24
                value = np.uint16(rng.integers(1, 1024)) | np.uint16(rng.integers(0, 2) << 15)
                half = np.array([value], dtype=np.uint16).view(np.float16)
            else:
                half = np.array([rng.uniform(-2.0, 2.0)], dtype=np.float16)
            blocks[b, offset:offset + 2] = half.view(np.uint8)
    return blocks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py directory")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    sys.path.insert(0, args.gguf_py)
    from gguf import quants  # noqa: E402 (from the path given)
    from gguf.constants import GGMLQuantizationType

    rng = np.random.default_rng(args.seed)
    cases = {}
    for name, (size, scale_offsets) in FORMATS.items():
        blocks = random_blocks(rng, size, scale_offsets)
        qtype = GGMLQuantizationType[name.upper()]
        values = quants.dequantize(blocks.reshape(-1), qtype).astype(np.float32)
        assert values.shape == (BLOCKS * 256,), values.shape
        assert np.all(np.isfinite(values))
        cases[name] = {
            "blocks": blocks.tobytes().hex(),
            "bits": [int(v) for v in values.view(np.uint32)],
        }
    command = ("/usr/bin/python3 tests/reference/kquant_reference.py --gguf-py LLAMA_CPP/gguf-py "
               f"--out tests/golden/kquant_blocks.json --seed {args.seed}")
    with open(args.out, "w") as f:
        json.dump({"command": command, "block_count": BLOCKS, "formats": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
