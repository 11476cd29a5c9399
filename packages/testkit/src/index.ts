export * from './bodies/memory-probe.js';
export * from './bodies/patterned-body.js';
export * from './contract/describe-cold-store-contract.js';
export * from './contract/subject.js';
export * from './services/service-env.js';
export * from './segments/segment-generator.js';
export * from './network/closed-port.js';
export * from './network/corrupting-proxy.js';
