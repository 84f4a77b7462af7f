import { describeCliFailure } from '@nexus/core';
import { VERSION } from '../version.ts';
import { SERVE_HELP, serveCommand } from './serve-command.ts';
import { endpointsCommand } from './endpoints-command.ts';
import { webhooksCommand } from './webhooks-command.ts';
import { fsckCommand } from './fsck-command.ts';
import { hostsCommand } from './hosts-command.ts';
import { keysCommand } from './keys-command.ts';
import { searchCommand } from './search-command.ts';
import { exportCommand } from './export-command.ts';
import { deleteCommand } from './delete-command.ts';

const HELP = `Usage: nexus <command> [options]

Nexus: transcript backup, usage and durable webhooks for OpenClaw agents.

Commands:
  serve        run the Nexus API (embedded storage by default)
  endpoints    add, list, rotate, disable or remove webhook endpoints (nexus endpoints --help)
  webhooks     list, show or replay queued webhooks (nexus webhooks --help)
  hosts        the OpenClaw machines this Nexus serves, their agents and last activity
  keys         create, list or revoke API keys; enrolment codes for new hosts (nexus keys --help)
  search       search every stored transcript (nexus search --help)
  export       a session as Markdown, JSON or HTML; many sessions as a tar of Markdown
  delete       delete a stored session for good (nexus delete --help)
  fsck         check stored transcripts against their hashes and rows; --repair rebuilds rows

Options:
  -h, --help       show this help (or: nexus <command> --help)
  -v, --version    print the version

${SERVE_HELP.split('\n')[0] ?? ''}
`;

/** Parses the command, runs it, and maps the outcome to an exit code in one place. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'serve') return serveCommand(rest, process.env);
  if (command === 'endpoints') return endpointsCommand(rest, process.env);
  if (command === 'webhooks') return webhooksCommand(rest, process.env);
  if (command === 'fsck') return fsckCommand(rest, process.env);
  if (command === 'keys') return keysCommand(rest, process.env);
  if (command === 'hosts') return hostsCommand(rest, process.env);
  if (command === 'search') return searchCommand(rest, process.env);
  if (command === 'export') return exportCommand(rest, process.env);
  if (command === 'delete') return deleteCommand(rest, process.env);
  process.stderr.write(`nexus: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (caught: unknown) => {
    const failure = describeCliFailure(caught, {
      port: '--port, or NEXUS_PORT',
      host: '--host, or NEXUS_HOST',
      folder: '--data-dir, or NEXUS_DATA_DIR',
    });
    process.stderr.write(`nexus: ${failure.message}
`);
    process.exitCode = failure.exitCode;
  },
);
