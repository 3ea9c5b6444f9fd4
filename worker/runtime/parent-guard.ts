/**
 * Ends a self-hosted gateway process (Bun, Deno) when the launcher that started it is gone: the
 * launcher gives each process a stdin pipe it never writes to (worker/launcher/self-binding.ts),
 * and the kernel closes that pipe when the launcher exits, even by SIGKILL — so the process reads
 * end-of-file and exits instead of serving on as an orphan. Only when SLUICE_EXIT_WITH_LAUNCHER
 * is "1"; a process started by hand keeps its terminal's stdin to itself.
 */

/**
 * Reads `stdin` to its end, then calls `exit`. Never resolves otherwise.
 * @param stdin the process's standard input as a web stream (Bun: `Bun.stdin.stream()`, Deno:
 *   `Deno.stdin.readable`).
 */
export async function exitWhenStdinEnds(stdin: ReadableStream<Uint8Array>, exit: () => void): Promise<void> {
  const reader = stdin.getReader();
  try {
    while (!(await reader.read()).done) {
      // The launcher writes nothing; any bytes are ignored.
    }
  } catch {
    // A read error means the pipe is gone too.
  }
  exit();
}
