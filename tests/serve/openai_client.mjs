// The checks of openai_client_test.sh, written as a user of the `openai` npm package would call
// the server: BASE_URL is the server's /v1, WANT the greedy text of `moe run` for the prompt.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: "sk-test", maxRetries: 0 });
const prompt = "The quick brown fox";
let failures = 0;
const check = (cond, what) => {
  if (!cond) {
    console.log(`FAIL: ${what}`);
    failures += 1;
  }
};

const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === "tiny", `models: ${JSON.stringify(models.data)}`);

const whole = await client.completions.create({ model: "tiny", prompt, max_tokens: 12, temperature: 0 });
check(whole.choices[0].text === process.env.WANT, `text ${JSON.stringify(whole.choices[0].text)} != moe run's`);
check(whole.usage.completion_tokens <= 12 && whole.usage.prompt_tokens > 0, `usage ${JSON.stringify(whole.usage)}`);

const stream = await client.completions.create({
  model: "tiny", prompt, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let text = "";
let usage = null;
const ids = new Set();
for await (const chunk of stream) {
  ids.add(chunk.id);
  if (chunk.choices.length) text += chunk.choices[0].text;
  if (chunk.usage) usage = chunk.usage;
}
check(text === whole.choices[0].text, `streamed ${JSON.stringify(text)} != whole`);
check(ids.size === 1, `${ids.size} ids in one stream`);
check(usage && usage.total_tokens === whole.usage.total_tokens, `stream usage ${JSON.stringify(usage)}`);

// Chat, whole and streamed, as a chat client would call it (Mixtral-Instruct's template of the preset).
const messages = [{ role: "system", content: "You are terse." }, { role: "user", content: "Name a colour." }];
const chat = await client.chat.completions.create({ model: "tiny", messages, max_completion_tokens: 12, temperature: 0 });
check(chat.object === "chat.completion" && chat.choices[0].message.role === "assistant",
      `chat: ${JSON.stringify(chat)}`);
check(chat.usage.completion_tokens <= 12 && chat.usage.prompt_tokens > 0, `chat usage ${JSON.stringify(chat.usage)}`);
const chatStream = await client.chat.completions.create({
  model: "tiny", messages, max_completion_tokens: 12, temperature: 0, stream: true,
  stream_options: { include_usage: true },
});
let chatText = "";
let chatUsage = null;
const roles = [];
const finishes = [];
for await (const chunk of chatStream) {
  if (chunk.choices.length) {
    const delta = chunk.choices[0].delta;
    if (delta.role) roles.push(delta.role);
    chatText += delta.content ?? "";
    if (chunk.choices[0].finish_reason) finishes.push(chunk.choices[0].finish_reason);
  }
  if (chunk.usage) chatUsage = chunk.usage;
}
check(chatText === chat.choices[0].message.content, `streamed chat ${JSON.stringify(chatText)} != whole`);
check(roles.length === 1 && roles[0] === "assistant", `roles in the stream: ${roles}`);
check(finishes.length === 1 && finishes[0] === chat.choices[0].finish_reason, `finish reasons: ${finishes}`);
check(chatUsage && chatUsage.total_tokens === chat.usage.total_tokens, `chat stream usage ${JSON.stringify(chatUsage)}`);
try {
  await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: [
    { type: "image_url", image_url: { url: "http://x/y.png" } }] }] });
  check(false, "an image part was accepted");
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === "messages[0].content[0].type",
        `image part: ${e}`);
}

try {
  await client.completions.create({ model: "gpt-4", prompt });
  check(false, "an unknown model was accepted");
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.status === 400 && e.code === "model_not_found",
        `unknown model: ${e}`);
}
try {
  await new OpenAI({ baseURL: process.env.BASE_URL, apiKey: "wrong", maxRetries: 0 }).models.list();
  check(false, "a wrong key was accepted");
} catch (e) {
  check(e instanceof OpenAI.AuthenticationError && e.status === 401, `wrong key: ${e}`);
}

if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log("openai client: all checks passed");
