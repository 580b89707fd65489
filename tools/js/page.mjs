// The setup page's own wasm module (www/pkg, built by `cargo xtask build`), loaded in Node: what the page generates
// for a given form, without a browser.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, need } from "./env.mjs";

let page;
/** The module, loaded once. */
async function pageModule() {
  if (!page) {
    const js = need(join(ROOT, "www/pkg/pocketgate.js"), "build the page first: `cargo xtask build`");
    const wasm = need(join(ROOT, "www/pkg/pocketgate_bg.wasm"), "build the page first: `cargo xtask build`");
    page = await import(pathToFileURL(js).href);
    page.initSync({ module: readFileSync(wasm) });
  }
  return page;
}

/** The setup page's `generate` for `input` (a `SetupInput`): `{ findings, sections }`. */
export async function pageGenerate(input) {
  const pg = await pageModule();
  return JSON.parse(pg.generate(JSON.stringify(input)));
}
