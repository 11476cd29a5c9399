import { describeColdStoreContract } from '@takhin/testkit';
import { createGcsSubject } from './gcs-subject.js';

describeColdStoreContract('gcs', ({ prefix }) => createGcsSubject(prefix));
