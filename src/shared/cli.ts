/**
 * Runs a command-line entry point: its resolved number is the exit code; an error becomes one line on
 * stderr (described by `describe`) and exit code 1.
 */
export function runCli(main: () => Promise<number>, describe: (error: unknown) => string): void {
  main()
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      process.stderr.write(`${describe(error)}\n`);
      process.exitCode = 1;
    });
}
