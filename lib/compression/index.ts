// Exception and swinging-door compression of readings with a stated maximum error.
export { ReadingCompressor, checkReading, type BoundResolver, type CompressionCounts, type CompressorOptions, type SeriesBound } from './compressor';
export { compressorOptions, createBoundResolver, parseCompressionConfig, type CompressionSettings, type RawCompressionConfig } from './config';
export { DeadbandFilter } from './deadband';
export { SwingingDoor, type SeriesPoint } from './swinging-door';
