/**
 * The end of every bench script: run `main`, then every registered stop (newest first), also on
 * Ctrl-C / SIGTERM and on failure, so each process a bench started is stopped by it; then exit
 * (0, 1 on failure, 130 when interrupted).
 */
export type Stop = () => Promise<void>;

export async function runBenchMain(main: () => Promise<void>, stops: Stop[]): Promise<never> {
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((err: Error) => console.error(`bench: stop failed: ${err.message}`));
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void stopAll().then(() => process.exit(130)));
  }
  let code = 0;
  try {
    await main();
  } catch (err) {
    console.error(`bench: failed: ${(err as Error).stack ?? err}`);
    code = 1;
  } finally {
    await stopAll();
  }
  process.exit(code);
}
