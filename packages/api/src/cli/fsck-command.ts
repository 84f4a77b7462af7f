import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadApiConfig } from '../config/api-config.ts';
import { fsck, type FsckReport } from '../maintenance/fsck.ts';
import { openStorage } from '../storage/open-storage.ts';
import { makePrivateDir } from '../storage/embedded/private-files.ts';

export const FSCK_HELP = `Usage: nexus fsck [options]

Checks what the API stored: every transcript's bytes against the SHA-256 in its name, every
transcript against its generation and session rows, every generation row against its bytes.
Works on embedded storage and on Azure (the same configuration as "nexus serve").

Options:
  --repair             rebuild the rows a stored transcript is missing, from its bytes
                       (kind "live", file name <session>.jsonl, received now: the bytes do not
                       say more); bytes that are corrupt or gone are only reported
  --data-dir <path>    data folder (env NEXUS_DATA_DIR, default ~/.nexus)
  --json               print the report as JSON
  -h, --help           show this help

Exit code: 0 when everything is consistent (after --repair: when everything found was
repaired), 1 when problems remain, 2 for a bad command line or configuration.
With embedded storage, run it while the server is stopped, or at a quiet time.
`;

export async function fsckCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      repair: { type: 'boolean' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(FSCK_HELP);
    return 0;
  }
  const config = loadApiConfig(
    env,
    values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] },
  );
  const storage = await openStorage(config.storage, undefined, {
    sweepTemp: false,
    defaultHostId: config.defaultHostId,
  });
  makePrivateDir(config.dataDir);
  const spoolDir = await mkdtemp(join(config.dataDir, 'fsck-'));
  const interactive = process.stderr.isTTY && values.json !== true;
  let report: FsckReport;
  try {
    process.stderr.write(`Checking ${storage.description}…\n`);
    let last = 0;
    report = await fsck(storage, {
      repair: values.repair ?? false,
      spoolDir,
      onProgress: ({ blobs, bytes }) => {
        if (!interactive || Date.now() - last < 250) return;
        last = Date.now();
        process.stderr.write(`\r  ${String(blobs)} transcripts, ${megabytes(bytes)} checked`);
      },
    });
    if (interactive) process.stderr.write('\n');
  } finally {
    await storage.close();
    await rm(spoolDir, { recursive: true, force: true });
  }
  const remaining = report.findings.filter((finding) => !report.repaired.includes(finding.key));
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ ...report, remaining: remaining.length }, null, 2)}\n`,
    );
    return remaining.length === 0 ? 0 : 1;
  }
  const lines = [
    `${String(report.blobs)} transcripts (${megabytes(report.bytes)}) and ${String(report.generationRows)} generation rows checked.`,
  ];
  for (const finding of report.findings) {
    const fixed = report.repaired.includes(finding.key);
    lines.push(`  ${fixed ? 'repaired' : finding.kind}: ${finding.key}: ${finding.detail}`);
  }
  const repairable = report.findings.filter(
    (f) => f.kind === 'missing_rows' || f.kind === 'unreferenced',
  ).length;
  if (report.findings.length === 0) lines.push('Everything is consistent.');
  else if (remaining.length === 0)
    lines.push(`Repaired ${String(report.repaired.length)}; everything is consistent now.`);
  else if (repairable > 0 && report.repaired.length === 0)
    lines.push(
      `${String(remaining.length)} problems; run "nexus fsck --repair" to rebuild missing rows and tidy unused blobs.`,
    );
  else lines.push(`${String(remaining.length)} problems remain (see above).`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return remaining.length === 0 ? 0 : 1;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
