import { describe, expect, it } from 'vitest';
import { SERVE_SEMI_SPACE_MB, serveReexecArgs } from './young-generation.ts';

const NODE = '/opt/node/bin/node';
const SCRIPT = '/srv/nexus/packages/api/src/cli/main.ts';

describe('serveReexecArgs', () => {
  it('re-executes serve with the semi-space flag, keeping node flags and arguments in order', () => {
    expect(
      serveReexecArgs(NODE, ['--cpu-prof'], [NODE, SCRIPT, 'serve', '--port', '8080'], undefined),
    ).toEqual([
      NODE,
      `--max-semi-space-size=${String(SERVE_SEMI_SPACE_MB)}`,
      '--cpu-prof',
      SCRIPT,
      'serve',
      '--port',
      '8080',
    ]);
  });

  it.each<[string, string[], string[], string | undefined]>([
    ['another command', [], [NODE, SCRIPT, 'keys', 'list'], undefined],
    ['no command', [], [NODE, SCRIPT], undefined],
    ['serve --help', [], [NODE, SCRIPT, 'serve', '--help'], undefined],
    ['serve -h', [], [NODE, SCRIPT, 'serve', '-h'], undefined],
    ['a size on the command line', ['--max-semi-space-size=16'], [NODE, SCRIPT, 'serve'], ''],
    [
      'a size in NODE_OPTIONS',
      [],
      [NODE, SCRIPT, 'serve'],
      '--enable-source-maps --max-semi-space-size=32',
    ],
    ['the size as its own word', ['--max-semi-space-size', '4'], [NODE, SCRIPT, 'serve'], ''],
    // After the re-execution the flag is on the command line: never a second time.
    ['the re-executed process', ['--max-semi-space-size=8'], [NODE, SCRIPT, 'serve'], undefined],
  ])('leaves the process as it is for %s', (_label, execArgv, argv, nodeOptions) => {
    expect(serveReexecArgs(NODE, execArgv, argv, nodeOptions)).toBeUndefined();
  });

  it('does not mistake a longer flag for the size', () => {
    expect(
      serveReexecArgs(NODE, ['--max-semi-space-size-x=1'], [NODE, SCRIPT, 'serve'], undefined),
    ).toBeDefined();
  });
});
