// The independent reference: HF's tokenizers.js (@huggingface/tokenizers, the tokenizers of
// transformers.js) encodes each text of a texts JSON file ({"texts": [...]}) with a tokenizer.json.
// Usage: node reference.mjs <@huggingface/tokenizers package dir> <tokenizer.json> <texts.json>
// Prints {"plain": [ids of each text], "with_special": [the same with the post-processor's
// special tokens added]}.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [pkg, tokenizerPath, textsPath] = process.argv.slice(2);
const { Tokenizer } = await import(pathToFileURL(join(pkg, "dist", "tokenizers.mjs")).href);
const tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, "utf8")), {});
const texts = JSON.parse(readFileSync(textsPath, "utf8")).texts;
const encode = (add) => texts.map((text) => tokenizer.encode(text, { add_special_tokens: add }).ids.map(Number));
process.stdout.write(JSON.stringify({ plain: encode(false), with_special: encode(true) }) + "\n");
