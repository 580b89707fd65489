// A client for workerd's inspector (Chrome DevTools protocol over one WebSocket to `--inspector-addr`), used by the
// isolate-memory measurement (tools/js/isolatemem.mjs) and the CPU profile of the benchmark (bench/lib/profile.mjs).

/** Connect to the first (the only) isolate of workerd's inspector on 127.0.0.1:`port`. Returns { send(method,
 * params), close() }; send resolves with the method's result and rejects with its error. */
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
    pending.set(i, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
    ws.send(JSON.stringify({ id: i, method, params }));
  });
  return { send, close: () => ws.close() };
}
