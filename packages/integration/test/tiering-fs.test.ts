import { provider } from '@takhin/backend-fs';
import { describeTieringIntegration } from '@takhin/testkit';

// The embedded default: the FS cold store beside the data dir, where loadConfig puts it.
describeTieringIntegration('fs', { providers: [provider], section: () => ({ backend: 'fs' }) });
