// `npm run demo`: runs examples/demo.ts under the Deno installed by `npm ci`.
import { denoBin, run } from "./_tools.mjs";

process.exit(
  await run(denoBin(), [
    "run",
    "--allow-all",
    "examples/demo.ts",
    ...process.argv.slice(2),
  ]),
);
