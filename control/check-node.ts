// Sluice's scripts need Node >= 22.12 (wrangler, vitest 5, native type stripping). The `node`
// devDependency puts Node 24 first on PATH inside `npm run`; `npm install --ignore-scripts`
// skips that silently, so fail loudly instead of running on the machine's Node 20.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `sluice: Node ${process.versions.node} is too old; run through npm (npm test / npm start) ` +
      "after a plain `npm install` (not --ignore-scripts) so the bundled Node 24 is used.",
  );
  process.exit(1);
}
