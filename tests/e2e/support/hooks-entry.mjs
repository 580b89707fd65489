// A test-only entry module, loaded by `startGate(vars, { entry })` (tools/js/gate.mjs) in place of build/index.js.
// It is never built into or deployed with the Worker: it wraps the production entry module (build/index.js, made from
// src/worker/shim.js) and the production WebAssembly unchanged, and adds what only a test may do, under /__test/:
//
// - POST /__test/clock?advance=S   the isolate's clock (`Date.now`, which the gate reads) moves S seconds ahead;
// - POST /__test/hold?on=1|0       while on, WebCrypto verdicts (crypto.subtle.verify) are held back;
//   GET  /__test/held              how many are held;  POST /__test/release?count=N  settle the N oldest;
// - POST /__test/trap              a real WebAssembly trap: a request whose header lookup re-enters the gate, so
//                                  the inner call finds the header buffer borrowed (a Rust panic: `unreachable`);
//   POST /__test/trap-on-log       the same from inside the gate's next request log line (written while the log
//                                  budget is borrowed): a trap inside whatever runs it, e.g. a Rust future.
//
// No client request can do any of this to the production Worker: the hooks exist only in this module, and the trap
// needs a JavaScript object posing as a Request (workerd only ever hands the Worker real ones).
import gate from "./index.js";

const realNow = Date.now;
let offsetMs = 0;
Date.now = () => realNow() + offsetMs;

// A held verdict waits on its own request's timer (workerd cancels a request that waits only on another request).
const subtle = crypto.subtle;
const verify = subtle.verify;
let holding = false;
const held = [];
subtle.verify = function (...args) {
  const verdict = verify.apply(subtle, args);
  if (!holding) return verdict;
  const ticket = { released: false };
  held.push(ticket);
  return new Promise((resolve, reject) => {
    const wait = () => (ticket.released ? verdict.then(resolve, reject) : setTimeout(wait, 5));
    wait();
  });
};

// Armed by /__test/trap-on-log: the next request line re-enters the gate (which then logs a refusal of its own).
let trapOnLog = null;
const log = console.log;
console.log = function (...args) {
  if (trapOnLog && String(args[0]).includes('"event":"request"')) {
    const { env, ctx } = trapOnLog;
    trapOnLog = null;
    gate.fetch({ url: "http://gate.test/_gate/auth", method: "GET", headers: { get: () => null } }, env, ctx);
  }
  return log.apply(console, args);
};

/** Re-enter the gate from inside its own header lookup: the inner call traps. */
function trap(env, ctx) {
  const request = (get) => ({ url: "http://gate.test/_gate/auth", method: "GET", headers: { get } });
  let inner = null;
  let outer = null;
  const reenter = () => {
    try {
      gate.fetch(request(() => null), env, ctx);
    } catch (e) {
      inner = e;
      throw e;
    }
    return null;
  };
  try {
    gate.fetch(request(reenter), env, ctx);
  } catch (e) {
    outer = e;
  }
  const describe = (e) => e && { name: e.constructor?.name, message: String(e.message) };
  return Response.json({ inner: describe(inner), outer: describe(outer) });
}

function control(url, env, ctx) {
  const q = url.searchParams;
  switch (url.pathname) {
    case "/__test/clock":
      offsetMs += Number(q.get("advance") ?? 0) * 1000;
      return Response.json({ offsetMs });
    case "/__test/hold":
      holding = q.get("on") !== "0";
      return Response.json({ holding, held: held.length });
    case "/__test/held":
      return Response.json({ held: held.length });
    case "/__test/release":
      for (const ticket of held.splice(0, Number(q.get("count") ?? held.length))) ticket.released = true;
      return Response.json({ held: held.length });
    case "/__test/trap":
      return trap(env, ctx);
    case "/__test/trap-on-log":
      trapOnLog = { env, ctx };
      return Response.json({ armed: true });
    default:
      return new Response("no such hook", { status: 404 });
  }
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__test/")) return control(url, env, ctx);
    return gate.fetch(request, env, ctx);
  },
};
