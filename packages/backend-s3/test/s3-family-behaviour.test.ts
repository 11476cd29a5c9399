import { describeS3FamilyBehaviour } from '@takhin/testkit';
import { s3Family } from './minio-s3.js';

describeS3FamilyBehaviour('s3', s3Family);
