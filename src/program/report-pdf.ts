import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The program report as PDF, printed by headless Chromium (`--print-to-pdf`) from a self-contained HTML file in a
 * private temporary directory. No browser driver is needed at run time; without Chromium the tool says so.
 */
export interface PdfPrinter {
  /** The Chromium executable used, or undefined when none is available. */
  readonly executable: string | undefined;
  print(html: string): Promise<Buffer>;
}

export class PdfUnavailableError extends Error {}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH when set (and only it), else `chromium` or `chromium-browser` on the PATH. */
export function findChromium(configured: string | undefined, searchPath = process.env.PATH ?? ''): string | undefined {
  if (configured !== undefined) return isExecutable(configured) ? configured : undefined;
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

export function createPdfPrinter(options: { chromiumPath: string | undefined; timeoutMs?: number }): PdfPrinter {
  const executable = findChromium(options.chromiumPath);
  const timeout = options.timeoutMs ?? 60_000;
  // One Chromium at a time: each is a few hundred MB.
  let queue: Promise<unknown> = Promise.resolve();

  async function printNow(html: string): Promise<Buffer> {
    if (!executable) throw new PdfUnavailableError('no Chromium');
    const dir = await mkdtemp(path.join(tmpdir(), 'coachlti-report-'));
    try {
      const input = path.join(dir, 'report.html');
      const output = path.join(dir, 'report.pdf');
      await writeFile(input, html, { mode: 0o600 });
      await new Promise<void>((resolve, reject) => {
        execFile(
          executable,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            `--user-data-dir=${path.join(dir, 'profile')}`,
            '--no-pdf-header-footer',
            `--print-to-pdf=${output}`,
            pathToFileURL(input).href,
          ],
          { timeout, maxBuffer: 1024 * 1024 },
          (error) => (error ? reject(new PdfUnavailableError(`Chromium failed: ${error.message.split('\n')[0]}`)) : resolve()),
        );
      });
      const pdf = await readFile(output);
      if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new PdfUnavailableError('Chromium wrote no PDF');
      return pdf;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    executable,
    print(html) {
      const run = queue.then(
        () => printNow(html),
        () => printNow(html),
      );
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/** Pages of a PDF, counted from its page objects (`/Type /Page`, not `/Pages`). */
export function pdfPageCount(pdf: Buffer): number {
  return (pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
}
