import { CRASH_BACKENDS, describeCrashReconciliation } from './fixtures/crash-suite.js';

describeCrashReconciliation(CRASH_BACKENDS.minio);
