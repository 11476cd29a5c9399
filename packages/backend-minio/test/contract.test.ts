import { describeColdStoreContract, s3FamilyContractSubject } from '@takhin/testkit';
import { minioFamily } from './minio-server.js';

describeColdStoreContract('minio', s3FamilyContractSubject('minio', minioFamily));
