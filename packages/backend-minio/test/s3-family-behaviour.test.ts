import { describeS3FamilyBehaviour } from '@takhin/testkit';
import { minioFamily } from './minio-server.js';

describeS3FamilyBehaviour('minio', minioFamily, {
  errorMapping: {
    '503 ServiceUnavailable': {
      code: 'THROTTLED',
      retryable: true,
      reason: "the minio client drops a 5xx body's code, so a bare 503 reads as S3 defines it: slow down",
    },
  },
});
