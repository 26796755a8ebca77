#!/usr/bin/env python3
"""kquant_gguf.py IN.gguf OUT.gguf: rewrites a GGUF (version 3) whose routed-expert tensors are
Q5_K (ggml type 13) with ffn_gate_exps / ffn_up_exps as Q3_K (11) and ffn_down_exps as Q2_K (10):
seeded random blocks whose fp16 scales are small and finite, the layouts of ggml's block_q3_K
(110 bytes per 256 weights, d at byte 108) and block_q2_K (84 bytes, d at 80 and dmin at 82).
Metadata and every other tensor are copied; data offsets are recomputed with the file's alignment.
Plain Python (no numpy): moe has no Q2_K / Q3_K quantizer, so this is how tests/cli/kquants.sh gets
a file with them. Prints the number of tensors rewritten."""

import random
import struct
import sys

SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
Q2_K, Q3_K, Q5_K = 10, 11, 13
BLOCK_BYTES = {Q2_K: 84, Q3_K: 110, Q5_K: 176}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        n = self.take("Q")
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def skip_value(self, vtype):
        if vtype == 8:
            self.string()
        elif vtype == 9:
            item_type, count = self.take("I"), self.take("Q")
            for _ in range(count):
                self.skip_value(item_type)
        else:
            self.pos += SCALARS[vtype]


def random_blocks(rng, qtype, n_blocks):
    out = bytearray()
    for _ in range(n_blocks):
        block = bytearray(rng.getrandbits(8) for _ in range(BLOCK_BYTES[qtype]))
        scale_offsets = [80, 82] if qtype == Q2_K else [108]
        for offset in scale_offsets:
            block[offset:offset + 2] = struct.pack("<e", rng.uniform(0.002, 0.02))
        out += block
    return bytes(out)


def main():
    data = open(sys.argv[1], "rb").read()
    r = Reader(data)
    magic, version, n_tensors, n_kv = r.take("4sIQQ")
    assert magic == b"GGUF" and version == 3, (magic, version)
    alignment = 32
    kv_start = r.pos
    for _ in range(n_kv):
        key, vtype = r.string(), r.take("I")
        if key == "general.alignment":
            alignment = struct.unpack_from("<I", data, r.pos)[0]
        r.skip_value(vtype)
    kv_bytes = data[kv_start:r.pos]
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.take("I")
        dims = [r.take("Q") for _ in range(n_dims)]
        qtype, offset = r.take("I"), r.take("Q")
        infos.append([name, dims, qtype, offset])
    data_start = (r.pos + alignment - 1) // alignment * alignment
    ends = sorted(info[3] for info in infos) + [len(data) - data_start]

    rng = random.Random(5)
    blobs, rewritten = [], 0
    for info in infos:
        name, dims, qtype, offset = info
        size = min(e for e in ends if e > offset) - offset
        if qtype == Q5_K and "_exps." in name:
            count = 1
            for d in dims:
                count *= d
            new_type = Q2_K if "ffn_down_exps" in name else Q3_K
            blob = random_blocks(rng, new_type, count // 256)
            info[2] = new_type
            rewritten += 1
        else:
            blob = data[data_start + offset:data_start + offset + size]
        blobs.append(blob)

    header = bytearray(struct.pack("<4sIQQ", b"GGUF", 3, n_tensors, n_kv)) + kv_bytes
    offset = 0
    for (name, dims, qtype, _), blob in zip(infos, blobs):
        encoded = name.encode()
        header += struct.pack("<Q", len(encoded)) + encoded + struct.pack("<I", len(dims))
        header += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", qtype, offset)
        offset = (offset + len(blob) + alignment - 1) // alignment * alignment
    with open(sys.argv[2], "wb") as f:
        f.write(header + b"\0" * (-len(header) % alignment))
        for blob in blobs:
            f.write(blob + b"\0" * (-len(blob) % alignment))
    print(rewritten)


if __name__ == "__main__":
    main()
