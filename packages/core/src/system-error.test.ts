import { describe, expect, it } from 'vitest';
import { describeSystemError } from './system-error.ts';

const systemError = (fields: Record<string, unknown>) => Object.assign(new Error('raw'), fields);
const hints = {
  port: '--port, or NEXUS_PORT',
  host: '--host, or NEXUS_HOST',
  folder: '--data-dir, or NEXUS_DATA_DIR',
};

describe('describeSystemError', () => {
  it.each<[Record<string, unknown>, RegExp]>([
    [{ code: 'EADDRINUSE', port: 7420 }, /Port 7420 is already in use.*--port/],
    [{ code: 'EACCES', path: '/srv/nexus' }, /No permission for \/srv\/nexus.*--data-dir/],
    [{ code: 'EACCES', port: 80 }, /port 80.*above 1023/],
    [{ code: 'ENOTDIR', path: '/tmp/file/data' }, /Cannot use \/tmp\/file\/data \(ENOTDIR\)/],
    [{ code: 'ENOSPC', path: '/full' }, /ENOSPC/],
  ])('explains %o in one line with the fix', (fields, message) => {
    const text = describeSystemError(systemError(fields), hints);
    expect(text).toMatch(message);
    expect(text).not.toContain('\n');
  });

  it('leaves other errors to keep their stack', () => {
    expect(describeSystemError(new Error('bug'), hints)).toBeUndefined();
    expect(describeSystemError(systemError({ code: 'ERR_SOMETHING' }), hints)).toBeUndefined();
  });
});
