import { describeColdStoreContract } from '@takhin/testkit';
import { createAzureSubject } from './azure-subject.js';

describeColdStoreContract('azure', ({ prefix }) => createAzureSubject(prefix));
