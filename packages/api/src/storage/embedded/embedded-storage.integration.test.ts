import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorageConformance } from '../storage-conformance.ts';
import { openEmbeddedStorage } from './open-embedded-storage.ts';

describeStorageConformance('embedded', async () =>
  openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-embedded-'))),
);
