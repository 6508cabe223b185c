// Makes any import of vitest (or its parts) fail, so a run under node:test shows that a suite needs none.
import { register } from "node:module";

const hooks = `export async function resolve(specifier, context, next) {
  if (/^(vitest|@vitest\\/)/.test(specifier)) throw new Error("vitest imported: " + specifier + " from " + context.parentURL);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
