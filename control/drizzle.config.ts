/** drizzle-kit configuration: `npm run db:generate` writes SQL migrations from control/db/schema.ts. */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./control/db/schema.ts",
  out: "./migrations",
});
