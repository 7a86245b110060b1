// `npm run bench`: runs every benchmark in bench/ under the Deno installed by
// `npm ci`. Extra arguments go to `deno bench` (for example a file path).
import { denoBin, run } from "./_tools.mjs";

const extra = process.argv.slice(2);
process.exit(
  await run(denoBin(), [
    "bench",
    "--allow-all",
    ...(extra.length > 0 ? extra : ["bench/"]),
  ]),
);
