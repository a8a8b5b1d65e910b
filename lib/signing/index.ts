// Signing and verification of telemetry envelopes: the edge signs, the cloud verifies.
export { canonicalJson } from './canonical';
export { parseSignConfig, parseVerifyConfig, resolveRuntimeFile, type SignSettings } from './config';
export { decodeSignature, signEnvelope, signingInput, verifyEnvelope, type UnsignedEnvelope } from './envelope';
export { checkEnvelopeShape, checkReadingsShape, verifyIngestLine, verifyIngestValue, type IngestOptions, type IngestResult, type ShapeProblem } from './ingest';
export { generateDeviceKey, loadPrivateKey, loadPublicKey, parsePrivateKey, parsePublicKey } from './keys';
export { DeviceRegistry, parseDeviceRecords, type DeviceLookup, type DeviceRecord, type DeviceRegistryOptions, type RegisteredDevice } from './registry';
export { DEFAULT_SEQUENCE_BLOCK, SequenceCounter, SequenceState } from './sequence';
export { EnvelopeSigner, type SignedBatch } from './signer';
export { deviceReadingsTopic, parseReadingsTopic, readingsTopic } from './topic';
