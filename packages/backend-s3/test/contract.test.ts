import { describeColdStoreContract, s3FamilyContractSubject } from '@takhin/testkit';
import { s3Family } from './minio-s3.js';

describeColdStoreContract('s3', s3FamilyContractSubject('s3', s3Family));
