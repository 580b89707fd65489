// A client for workerd's inspector (Chrome DevTools protocol over one WebSocket to `--inspector-addr`), used by the
// isolate-memory measurement (tools/js/isolatemem.mjs) and the CPU profile of the benchmark (bench/lib/profile.mjs).

/** How long a method may go unanswered before `send` gives up: 60 s. A hung measurement fails with the method's
 * name instead of keeping the test (and the CI run) waiting. */
const ANSWER_WITHIN_MS = 60_000;

/** Connect to the first (the only) isolate of workerd's inspector on 127.0.0.1:`port`. Returns { send(method,
 * params), close() }; send resolves with the method's result and rejects with its error, or when no answer came
 * within 60 s. */
export async function connectInspector(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  if (!list.length) throw new Error("workerd's inspector lists no isolate");
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.addEventListener("open", resolve); ws.addEventListener("error", reject); });
  let id = 0;
  const pending = new Map();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const i = ++id;
    const timer = setTimeout(() => {
      pending.delete(i);
      reject(new Error(`${method}: workerd's inspector did not answer within ${ANSWER_WITHIN_MS / 1000} s`));
    }, ANSWER_WITHIN_MS);
    pending.set(i, (m) => {
      clearTimeout(timer);
      if (m.error) reject(new Error(`${method}: ${m.error.message}`));
      else resolve(m.result);
    });
    ws.send(JSON.stringify({ id: i, method, params }));
  });
  return { send, close: () => ws.close() };
}
