// The README's OpenAI recipe: `client.fetch` handed to the `openai` SDK, run
// against a loopback origin that speaks the chat completions route.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
  RateLimitError,
  TimeoutError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, EventLog, SteppedClock, until } from "../client/_helpers.ts";

const ROUTE = "/v1/chat/completions";

function completion(n: number): Record<string, unknown> {
  return {
    id: `chatcmpl-${n}`,
    object: "chat.completion",
    created: 1_767_225_600,
    model: "gpt-test",
    choices: [{
      index: 0,
      message: { role: "assistant", content: `answer ${n}`, refusal: null },
      finish_reason: "stop",
      logprobs: null,
    }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  };
}

describe("recipe: OpenAI through client.fetch", () => {
  let origin: Origin;
  let clock: SteppedClock;
  let log: EventLog;
  const clients: HttpClient[] = [];

  const sdk = (
    store: MemoryRateLimitStore,
    { throwOnLimit = false, attemptMs = 600_000 } = {},
  ): OpenAI => {
    const api = new HttpClient({
      name: "openai",
      // A cache too, to show that it never answers a POST.
      cache: { store: new MemoryCacheStore({ clock }) },
      rateLimit: { store, throwOnLimit },
      // The recipe's deadline: the SDK's own, ten minutes.
      timeout: { attemptMs },
      onEvent: log.listener,
      clock,
    });
    clients.push(api);
    // The SDK's own retries would sleep on real timers; the recipe keeps
    // them, the test turns them off to stay on the manual clock.
    return new OpenAI({
      apiKey: "sk-test",
      baseURL: `${origin.url}/v1`,
      fetch: api.fetch,
      maxRetries: 0,
    });
  };

  const ask = (openai: OpenAI) =>
    openai.chat.completions.create({
      model: "gpt-test",
      messages: [{ role: "user", content: "Say hi" }],
    });

  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    for (const client of clients) await client.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new SteppedClock(Date.now());
    log = new EventLog();
    // A cacheable answer: identical POSTs must still each reach the origin.
    origin.route(ROUTE, (request) => ({
      headers: { "cache-control": "max-age=600" },
      body: completion(request.n),
    }));
  });

  it("every call takes one unit of the budget: the third call of a 2-per-10 s budget waits for the window", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 2, windowMs: 10_000 },
      clock,
    });
    const openai = sdk(store);
    const started = clock.now();
    const calls = Promise.all([ask(openai), ask(openai), ask(openai)]);

    await until(
      () => origin.calls(ROUTE) === 2 && log.of("ratelimit.wait").length > 0,
      10_000,
    );
    const [wait] = log.of("ratelimit.wait");
    assert.ok(wait !== undefined && wait.waitMs > 0 && wait.waitMs <= 10_000);
    assert.equal(wait.method, "POST");

    // Moves the clock through the rate-limit wait, never as far as the
    // attempt deadline of a call on the wire.
    const answers = await drive(clock, calls, 20_000);
    assert.equal(origin.calls(ROUTE), 3);
    assert.ok(clock.now() - started >= 10_000);
    assert.deepEqual(
      answers.map((a) => a.choices[0]?.message.content).sort(),
      ["answer 1", "answer 2", "answer 3"],
    );
    // Never cached, never shared, though identical and marked max-age.
    assert.equal(log.of("cache.stored").length, 0);
    assert.equal(log.of("cache.hit").length, 0);
    assert.equal(log.of("dedupe.joined").length, 0);
  });

  it("a 429 with Retry-After holds back the next call until the cooldown ends", async () => {
    origin.route(ROUTE, (request) =>
      request.n === 1
        ? {
          status: 429,
          headers: { "retry-after": "20" },
          body: {
            error: {
              message: "Rate limit reached",
              type: "requests",
              code: "rate_limit_exceeded",
            },
          },
        }
        : { body: completion(request.n) });
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 100, windowMs: 60_000 },
      clock,
    });
    const openai = sdk(store);

    await assert.rejects(ask(openai), (error: unknown) => {
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.status, 429);
      return true;
    });
    const started = clock.now();
    const next = ask(openai);
    await until(
      () => log.of("cooldown").some((e) => e.action === "wait"),
      10_000,
    );
    assert.equal(origin.calls(ROUTE), 1);

    const answer = await drive(clock, next, 25_000);
    assert.equal(answer.choices[0]?.message.content, "answer 2");
    assert.equal(origin.calls(ROUTE), 2);
    assert.ok(clock.now() - started >= 19_000);
  });

  it("with throwOnLimit, a refused call fails with APIConnectionError whose cause is sluice's RateLimitError", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60_000 },
      clock,
    });
    const openai = sdk(store, { throwOnLimit: true });
    await ask(openai);

    await assert.rejects(ask(openai), (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIConnectionError);
      assert.ok(error.cause instanceof RateLimitError);
      assert.ok(error.cause.retryAfterMs > 0);
      return true;
    });
    assert.equal(origin.calls(ROUTE), 1);
  });

  it("the attempt deadline covers the whole answer: a completion slower than timeout.attemptMs fails with APIConnectionTimeoutError", async () => {
    // The origin answers after a minute of real time; the test moves the
    // client's clock past its deadline first.
    origin.route(ROUTE, { delayMs: 60_000, body: completion(1) });
    const store = new MemoryRateLimitStore({ clock });
    const openai = sdk(store, { attemptMs: 30_000 });
    const call = ask(openai);
    await until(() => origin.calls(ROUTE) === 1, 10_000);
    clock.advance(30_000);

    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIConnectionTimeoutError);
      return true;
    });
    const [failure] = log.of("error");
    assert.ok(failure?.error instanceof TimeoutError);
    assert.equal(failure.error.phase, "attempt");
    assert.equal(failure.error.timeoutMs, 30_000);
  });
});
