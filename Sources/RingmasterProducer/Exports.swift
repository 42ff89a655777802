// A producer needs the ring's types (RingWriter in `batch {}`, RecordType, RingWriteError) with
// `import RingmasterProducer` alone.
@_exported import RingChannel
