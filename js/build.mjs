// Bundle each src/views/<name>.ts into one self-contained ESM file ../rnn_widgets/static/<name>.js
// (what anywidget loads as _esm) and src/views/<name>.css, if any, into <name>.css (its _css).
import { build } from "esbuild";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const views = join(here, "src", "views");
const out = resolve(here, "..", "rnn_widgets", "static");
await mkdir(out, { recursive: true });

const names = (await readdir(views)).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3));
if (names.length === 0) throw new Error(`no views in ${views}`);
for (const name of names) {
  await build({
    entryPoints: [join(views, `${name}.ts`)],
    outfile: join(out, `${name}.js`),
    bundle: true,
    format: "esm",
    target: "es2020",
    platform: "browser",
    minify: false,
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
  });
  const code = await readFile(join(out, `${name}.js`), "utf8");
  if (/(^|[;\s])import\s*[\s{*"'(]/.test(code)) throw new Error(`${name}.js still imports something`);
  const css = join(views, `${name}.css`);
  if (existsSync(css)) {
    await build({ entryPoints: [css], outfile: join(out, `${name}.css`), bundle: true, logLevel: "warning" });
  }
  console.log(`built ${name}.js${existsSync(css) ? ` and ${name}.css` : ""}`);
}
