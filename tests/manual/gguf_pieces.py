#!/usr/bin/env python3
"""Helper for compare_llama_cpp.sh (standard library only).

    gguf_pieces.py GGUF greedy LLAMA_STDOUT MOE_JSON
        Compares llama-completion's raw stdout (generated text, --no-display-prompt) with moe's
        generated token ids, decoded to bytes the way llama.cpp prints pieces. Prints one line:
        "equal N" or "differ STEP <detail>" (STEP is 1-based; 0 when only trailing text differs).
    gguf_pieces.py GGUF pieces ID...
        Prints each id with its vocabulary string.
"""
import json
import struct
import sys

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_vocab(path):
    with open(path, "rb") as f:
        data = f.read(64 << 20)
    if data[:4] != b"GGUF":
        raise SystemExit(f"{path}: not a GGUF file")
    off = 4
    _version, _n_tensors, n_kv = struct.unpack_from("<IQQ", data, off)
    off += 20

    def rstr(o):
        (n,) = struct.unpack_from("<Q", data, o)
        return data[o + 8:o + 8 + n].decode("utf-8", "replace"), o + 8 + n

    def rval(t, o):
        if t == 8:
            return rstr(o)
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, o)
            o += 12
            out = []
            for _ in range(n):
                v, o = rval(et, o)
                out.append(v)
            return out, o
        fmt = SCALAR[t]
        return struct.unpack_from(fmt, data, o)[0], o + struct.calcsize(fmt)

    kv = {}
    for _ in range(n_kv):
        key, off = rstr(off)
        (t,) = struct.unpack_from("<I", data, off)
        off += 4
        kv[key], off = rval(t, off)
    return kv


def byte_decoder():
    # GPT-2 byte-level BPE: printable unicode stand-ins for the 256 byte values.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def piece_bytes(kv, tid):
    """Bytes llama.cpp prints for token tid (common_token_to_piece, special=false)."""
    toks = kv["tokenizer.ggml.tokens"]
    types = kv.get("tokenizer.ggml.token_type", [1] * len(toks))
    model = kv.get("tokenizer.ggml.model", "llama")
    s, t = toks[tid], types[tid]
    if t in (3, 5):  # control, unused: not printed without --special
        return b""
    if model == "llama":
        if t == 2:  # unknown
            return "\u2585".encode()
        if t == 6 and s.startswith("<0x") and s.endswith(">"):
            return bytes([int(s[3:-1], 16)])
        return s.replace("\u2581", " ").encode()
    if model == "gpt2":
        if t == 4:  # user-defined: as is
            return s.encode()
        dec = byte_decoder()
        return bytes(dec.get(ch, 0x3F) for ch in s)
    return s.encode()


def greedy(gguf, llama_out, moe_json):
    kv = read_vocab(gguf)
    raw = open(llama_out, "rb").read()
    # llama-completion ends with "\n\n", after " [end of text]\n" when it stopped at EOS.
    if raw.endswith(b"\n\n"):
        raw = raw[:-2]
    if raw.endswith(b" [end of text]\n"):
        raw = raw[:-len(b" [end of text]\n")]
    try:
        ids = json.load(open(moe_json))["tokens"]
    except Exception as e:  # noqa: BLE001
        print(f"differ 0 moe produced no JSON ({e})")
        return
    pos = 0
    for i, tid in enumerate(ids):
        # llama-completion prints pieces with printf("%s"): a piece is cut at its first NUL byte.
        pb = piece_bytes(kv, tid).split(b"\0")[0]
        if raw[pos:pos + len(pb)] != pb:
            print(f"differ {i + 1} moe id {tid} {kv['tokenizer.ggml.tokens'][tid]!r} = {pb!r}; "
                  f"llama bytes there {raw[pos:pos + max(len(pb), 8)]!r}")
            return
        pos += len(pb)
    if pos != len(raw):
        print(f"differ {len(ids) + 1} moe stopped after {len(ids)} tokens; llama continues {raw[pos:pos + 16]!r}")
        return
    print(f"equal {len(ids)}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[2] == "greedy":
        greedy(sys.argv[1], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 3 and sys.argv[2] == "pieces":
        kv = read_vocab(sys.argv[1])
        print(" ".join(f"{i}:{kv['tokenizer.ggml.tokens'][int(i)]!r}" for i in sys.argv[3:]))
    else:
        print(__doc__)
        sys.exit(2)
