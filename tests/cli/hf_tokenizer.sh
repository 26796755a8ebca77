# A preset model whose tokenizer.json is replaced by a general one (tests/tokenizer/hf/deepseek.json:
# DeepSeek-V3's Split sequence and a BOS template): `moe data` writes tokenizers.js's ids (the
# golden) between BOS and EOS, and an unsupported pre-tokenizer is one error line naming its path.
source "$(dirname "$0")/lib.bash"
HF="$(cd "$(dirname "$0")/../tokenizer/hf" && pwd)"
cd "$WORK"

"$MOE" init --preset qwen2moe-tiny --out tiny >/dev/null 2>&1 || fail "init"
cp "$HF/deepseek.json" tiny/tokenizer.json
echo '{"eos_token": "<|end|>"}' >tiny/tokenizer_config.json
for idx in 2 7 9 15; do
  python3 -c "import json,sys; sys.stdout.write(json.load(open('$HF/texts.json'))['texts'][$idx])" >text$idx.txt
  "$MOE" data --tokenizer tiny --in text$idx.txt --out tok$idx >data.out || fail "moe data text $idx: $(cat data.out)"
  python3 - "$HF/golden_deepseek.json" "$idx" "tok$idx.bin" "$(cat data.out)" <<'PY' || fail "ids of text $idx"
import json, re, sys
golden, idx, path, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
width = int(re.search(r"(\d) bytes each", out).group(1))
data = open(path, "rb").read()
ids = [int.from_bytes(data[i:i + width], "little") for i in range(0, len(data), width)]
want = json.load(open(golden))["with_special"][idx] + [json.load(open(golden.replace("golden_", "")))["added_tokens"][0]["id"]]
if ids != want:
    sys.exit(f"text {idx}: moe data wrote {ids}, tokenizers.js gives {want} (+ EOS)")
PY
done

python3 - "$HF/deepseek.json" <<'PY' >tiny/tokenizer.json
import json, sys
j = json.load(open(sys.argv[1]))
j["pre_tokenizer"]["pretokenizers"][1] = {"type": "Foo"}
json.dump(j, sys.stdout)
PY
expect_error "unsupported pre-tokenizer" "tokenizer.json: pre_tokenizer.pretokenizers\[1\].type 'Foo' is not supported" \
  "$MOE" info --model tiny

finish
