#!/usr/bin/env node
// serve_bench.mjs: a serving benchmark for any OpenAI-compatible completions server (moe serve,
// llama-server, vLLM, ...), with vLLM's benchmark_serving definitions. Node 20, no dependencies.
// A closed loop of `concurrency` clients sends num-prompts streamed requests (temperature 0,
// ignore_eos, max_tokens = output length) and measures, per concurrency level:
//   TTFT  time from sending a request to its first chunk with text (with no text at all: its
//         first chunk with a choice)
//   TPOT  (E2E - TTFT) / (output tokens - 1), per request with more than one output token
//   ITL   the gaps between successive chunks with text, over all requests
//   E2E   time from sending a request to its last chunk with choices
// (mean, median and p99 of each, p99 interpolated linearly as numpy's percentile), request/s,
// output tokens/s and total (prompt + output) tokens/s over the level's wall time. Tokens are
// counted from the `usage` a stream carries (stream_options.include_usage); a server that sends
// none has its output counted as chunks with text and its prompt as the ids sent.
// Run with --help for the flags.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const HELP = `Usage: node bench/serve_bench.mjs --url URL [options]

  --url URL               the server's root, e.g. http://127.0.0.1:8080 (required)
  --endpoint PATH         completions route (default /v1/completions)
  --model NAME            the request's "model" (default: the first id of GET /v1/models, or none)
  --api-key KEY           sent as "Authorization: Bearer KEY"
  --concurrency LIST      closed-loop client counts, one run each (default 1,4,16,64)
  --input-len N           random prompts of exactly N token ids (default 128)
  --output-len M          max_tokens of each request (default 128; ignore_eos makes it exact)
  --dataset FILE          prompts from a JSON Lines file instead of random ones: one object a line,
                          {"prompt": "text" or [ids], "output_len": M (optional)}; taken in order,
                          from the start again when all are used
  --num-prompts N         requests per concurrency level (default max(4 * concurrency, 8))
  --seed S                seed of the random prompts (default 0): the same seed, the same prompts;
                          the warm-up and each level get prompts of their own, none sent twice
  --vocab-range LO,HI     token ids of random prompts, inclusive (default 3,508: no special token
                          in any moe init preset, nor in SentencePiece or byte-level vocabularies)
  --warmup N              untimed requests before the first level (default 1)
  --extra-body JSON       fields merged into every request body, e.g. '{"cache_prompt": false}'
  --json                  print the results as one JSON object instead of a table, with each
                          request's figures (tokens, TTFT, E2E, ITL gaps) in results[].requests
  --help                  this text

A failed request (connection, HTTP status, error event, a stream without choices) stops the run
with a one-line error and exit code 1.`;

class UsageError extends Error {}

function die(message) {
  process.stderr.write(`serve_bench: error: ${message}\n`);
  process.exit(1);
}

function positiveInt(flag, text) {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  return Number(text);
}

function parseArgs(argv) {
  const opts = {
    url: null, endpoint: "/v1/completions", model: null, apiKey: null, concurrency: [1, 4, 16, 64],
    inputLen: null, outputLen: null, dataset: null, numPrompts: null, seed: 0, vocabRange: [3, 508],
    warmup: 1, extraBody: {}, json: false,
  };
  const flags = new Set(["--url", "--endpoint", "--model", "--api-key", "--concurrency", "--input-len", "--output-len",
    "--dataset", "--num-prompts", "--seed", "--vocab-range", "--warmup", "--extra-body"]);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--help" || flag === "-h") { process.stdout.write(HELP + "\n"); process.exit(0); }
    if (flag === "--json") { opts.json = true; continue; }
    if (!flags.has(flag)) throw new UsageError(`unknown option '${flag}' (see --help)`);
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    const value = argv[++i];
    switch (flag) {
      case "--url":
        if (!/^https?:\/\/[^/]+/.test(value)) throw new UsageError(`--url must be http(s)://host:port, got '${value}'`);
        opts.url = value.replace(/\/+$/, "");
        break;
      case "--endpoint":
        if (!value.startsWith("/")) throw new UsageError(`--endpoint must start with '/', got '${value}'`);
        if (value.includes("chat")) throw new UsageError("--endpoint: chat completions are not measured (prompts are token ids: use a completions route)");
        opts.endpoint = value;
        break;
      case "--model": opts.model = value; break;
      case "--api-key": opts.apiKey = value; break;
      case "--concurrency":
        opts.concurrency = value.split(",").map((c) => positiveInt("--concurrency", c.trim()));
        break;
      case "--input-len": opts.inputLen = positiveInt(flag, value); break;
      case "--output-len": opts.outputLen = positiveInt(flag, value); break;
      case "--dataset": opts.dataset = value; break;
      case "--num-prompts": opts.numPrompts = positiveInt(flag, value); break;
      case "--seed":
        if (!/^[0-9]+$/.test(value)) throw new UsageError(`--seed must be a non-negative integer, got '${value}'`);
        opts.seed = Number(value);
        break;
      case "--vocab-range": {
        const m = /^([0-9]+),([0-9]+)$/.exec(value);
        if (!m || Number(m[1]) > Number(m[2])) throw new UsageError(`--vocab-range must be LO,HI with LO <= HI, got '${value}'`);
        opts.vocabRange = [Number(m[1]), Number(m[2])];
        break;
      }
      case "--warmup":
        if (!/^[0-9]+$/.test(value)) throw new UsageError(`--warmup must be a non-negative integer, got '${value}'`);
        opts.warmup = Number(value);
        break;
      case "--extra-body": {
        let extra;
        try { extra = JSON.parse(value); } catch (e) { throw new UsageError(`--extra-body is not JSON: ${e.message}`); }
        if (extra === null || typeof extra !== "object" || Array.isArray(extra)) throw new UsageError("--extra-body must be a JSON object");
        opts.extraBody = extra;
        break;
      }
    }
  }
  if (!opts.url) throw new UsageError("--url is required (see --help)");
  if (opts.dataset && opts.inputLen !== null) throw new UsageError("--dataset and --input-len exclude each other");
  if (!opts.dataset && opts.inputLen === null) opts.inputLen = 128;
  if (opts.outputLen === null) opts.outputLen = 128;
  return opts;
}

// mulberry32: a small seeded generator, so that every server gets the same prompts.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// n prompts: {prompt, promptLen (ids sent, or null for text), outputLen}, the same sequence for
// the same flags. The warm-up takes the first ones and each level the next ones, so that no prompt
// is sent twice in a run (a server's prefix cache finds nothing to reuse), unless a dataset runs out.
function makePrompts(opts, n) {
  if (opts.dataset) {
    let lines;
    try { lines = readFileSync(opts.dataset, "utf8").split("\n"); } catch (e) { throw new UsageError(`--dataset ${opts.dataset}: ${e.message}`); }
    const entries = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const where = `--dataset ${opts.dataset}:${i + 1}`;
      let item;
      try { item = JSON.parse(line); } catch (e) { throw new UsageError(`${where}: not JSON: ${e.message}`); }
      const p = item?.prompt;
      const ids = Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && t >= 0);
      if (!(typeof p === "string" && p.length > 0) && !ids) throw new UsageError(`${where}: "prompt" must be a non-empty string or array of token ids`);
      const out = item.output_len ?? opts.outputLen;
      if (!Number.isInteger(out) || out < 1) throw new UsageError(`${where}: "output_len" must be a positive integer`);
      entries.push({ prompt: p, promptLen: ids ? p.length : null, outputLen: out });
    });
    if (entries.length === 0) throw new UsageError(`--dataset ${opts.dataset}: no prompts`);
    return Array.from({ length: n }, (_, i) => entries[i % entries.length]);
  }
  const next = generator(opts.seed);
  const [lo, hi] = opts.vocabRange;
  return Array.from({ length: n }, () => ({
    prompt: Array.from({ length: opts.inputLen }, () => lo + Math.floor(next() * (hi - lo + 1))),
    promptLen: opts.inputLen,
    outputLen: opts.outputLen,
  }));
}

// A connection per request: on a reused kept-alive connection a request to llama-server once
// failed with "other side closed" before reaching a slot (the server closing it as it was reused).
function headers(opts) {
  const h = { "Content-Type": "application/json", Connection: "close" };
  if (opts.apiKey) h.Authorization = `Bearer ${opts.apiKey}`;
  return h;
}

// fetch that turns a connection failure into one readable line.
async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = e.cause?.message ?? e.message;
    throw new Error(`cannot reach ${url}: ${cause}`);
  }
}

async function httpError(url, response) {
  const body = await response.text();
  let message = body.trim().slice(0, 300);
  try {
    const parsed = JSON.parse(body);
    message = parsed?.error?.message ?? parsed?.message ?? message;
  } catch { /* not JSON: the text itself */ }
  return new Error(`HTTP ${response.status} from ${url}: ${message}`);
}

async function defaultModel(opts) {
  const url = opts.url + "/v1/models";
  const response = await send(url, { headers: headers(opts) });
  if (!response.ok) {
    if (response.status === 401) throw await httpError(url, response);
    await response.body?.cancel();
    return null;
  }
  const list = await response.json().catch(() => null);
  return list?.data?.[0]?.id ?? null;
}

// One streamed request; times in ms from its start.
async function runRequest(opts, model, item) {
  const url = opts.url + opts.endpoint;
  const body = {
    ...(model !== null ? { model } : {}),
    prompt: item.prompt,
    max_tokens: item.outputLen,
    temperature: 0,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
    ...opts.extraBody,
  };
  const start = performance.now();
  const response = await send(url, { method: "POST", headers: headers(opts), body: JSON.stringify(body) });
  if (!response.ok) throw await httpError(url, response);
  const r = { ttft: null, firstChoice: null, itl: [], e2e: null, textChunks: 0, usage: null };
  let last = null;
  let buffered = "";
  let done = false;
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  while (!done) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    const now = performance.now() - start;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith("data:")) continue;  // blank separators, SSE comments and pings
      const data = line.slice(5).trim();
      if (data === "[DONE]") { done = true; break; }
      let chunk;
      try { chunk = JSON.parse(data); } catch { throw new Error(`${url}: a stream event is not JSON: ${data.slice(0, 200)}`); }
      if (chunk.error) throw new Error(`${url}: error event: ${chunk.error.message ?? JSON.stringify(chunk.error)}`);
      if (chunk.usage) r.usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      r.firstChoice ??= now;
      r.e2e = now;
      if (typeof choice.text !== "string" || choice.text.length === 0) continue;
      if (r.ttft === null) r.ttft = now;
      else r.itl.push(now - last);
      last = now;
      r.textChunks++;
    }
  }
  if (!done) await reader.cancel().catch(() => {});
  if (r.e2e === null) throw new Error(`${url}: the stream carried no choices`);
  r.ttft ??= r.firstChoice;  // no text at all (e.g. only end-of-sequence tokens): vLLM's first choice
  return r;
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

// numpy.percentile's default (linear interpolation between closest ranks); 0 for no samples.
function percentile(xs, p) {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

const summary = (xs) => ({ mean: mean(xs), median: percentile(xs, 50), p99: percentile(xs, 99) });

async function runLevel(opts, model, prompts, concurrency) {
  const results = new Array(prompts.length);
  let next = 0;
  const worker = async () => {
    while (next < prompts.length) {
      const i = next++;
      results[i] = await runRequest(opts, model, prompts[i]);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, prompts.length) }, worker));
  const duration = (performance.now() - start) / 1000;

  let totalIn = 0, totalOut = 0, fromUsage = 0;
  const ttft = [], tpot = [], itl = [], e2e = [], requests = [];
  results.forEach((r, i) => {
    const usage = r.usage && Number.isInteger(r.usage.completion_tokens) ? r.usage : null;
    const out = usage ? usage.completion_tokens : r.textChunks;
    const promptTokens = usage && Number.isInteger(usage.prompt_tokens) ? usage.prompt_tokens : (prompts[i].promptLen ?? 0);
    if (usage) fromUsage++;
    totalOut += out;
    totalIn += promptTokens;
    requests.push({ prompt_tokens: promptTokens, output_tokens: out, ttft_ms: r.ttft, e2el_ms: r.e2e, itl_ms: r.itl });
    ttft.push(r.ttft);
    e2e.push(r.e2e);
    itl.push(...r.itl);
    if (out > 1) tpot.push((r.e2e - r.ttft) / (out - 1));
  });
  return {
    concurrency,
    num_prompts: prompts.length,
    completed: results.length,
    duration_s: duration,
    total_input_tokens: totalIn,
    total_output_tokens: totalOut,
    tokens_from_usage: fromUsage,
    request_throughput: results.length / duration,
    output_throughput: totalOut / duration,
    total_token_throughput: (totalIn + totalOut) / duration,
    ttft_ms: summary(ttft),
    tpot_ms: summary(tpot),
    itl_ms: summary(itl),
    e2el_ms: summary(e2e),
    requests,
  };
}

function printTable(report) {
  const shape = report.dataset ? `dataset ${report.dataset}` : `${report.input_len} in / ${report.output_len} out (random ids ${report.vocab_range.join("..")}, seed ${report.seed})`;
  console.log(`${report.url}${report.endpoint}  model ${report.model ?? "(none)"}  ${shape}`);
  const cols = ["conc", "reqs", "time s", "req/s", "out tok/s", "tot tok/s",
    "TTFT mean", "TTFT p50", "TTFT p99", "TPOT mean", "TPOT p50", "TPOT p99",
    "ITL mean", "ITL p50", "ITL p99", "E2E mean", "E2E p50", "E2E p99"];
  const rows = report.results.map((r) => [r.concurrency, r.completed, r.duration_s, r.request_throughput,
    r.output_throughput, r.total_token_throughput,
    ...["ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"].flatMap((k) => [r[k].mean, r[k].median, r[k].p99])]
    .map((v) => (Number.isInteger(v) ? String(v) : v.toFixed(2))));
  const widths = cols.map((c, j) => Math.max(c.length, ...rows.map((row) => row[j].length)));
  const line = (cells) => cells.map((c, j) => c.padStart(widths[j])).join("  ");
  console.log(line(cols));
  rows.forEach((row) => console.log(line(row)));
  console.log("latencies in ms; TPOT excludes the first token; tokens counted from " +
    (report.results.every((r) => r.tokens_from_usage === r.completed) ? "usage" : "usage where sent, else text chunks"));
}

async function main() {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) { die(e.message); }
  try {
    const counts = opts.concurrency.map((c) => opts.numPrompts ?? Math.max(4 * c, 8));
    const prompts = makePrompts(opts, opts.warmup + counts.reduce((a, b) => a + b, 0));
    const model = opts.model ?? (await defaultModel(opts));
    for (let i = 0; i < opts.warmup; i++) await runRequest(opts, model, prompts[i]);
    const results = [];
    let next = opts.warmup;
    for (const [k, c] of opts.concurrency.entries()) {
      results.push(await runLevel(opts, model, prompts.slice(next, next + counts[k]), c));
      next += counts[k];
      if (!opts.json) process.stderr.write(`serve_bench: concurrency ${c} done\n`);
    }
    const report = {
      url: opts.url, endpoint: opts.endpoint, model,
      input_len: opts.dataset ? null : opts.inputLen, output_len: opts.outputLen, dataset: opts.dataset,
      seed: opts.seed, vocab_range: opts.vocabRange, warmup: opts.warmup, extra_body: opts.extraBody, results,
    };
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else printTable(report);
  } catch (e) {
    die(e.message);
  }
}

main();
