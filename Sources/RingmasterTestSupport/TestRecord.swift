/// The test producer's record: `u64 sequence · u64 FNV-1a of the filler · filler`, the filler
/// derived from the sequence, so a reader can check order, integrity and (with the seed) size.
public enum TestRecord {
    /// Smallest payload: sequence and hash.
    public static let minimumLength = 16

    /// The payload length of record `sequence` for a run: deterministic from `seed`.
    public static func length(sequence: UInt64, seed: UInt64, minimum: Int, maximum: Int) -> Int {
        let low = max(minimumLength, minimum)
        guard maximum > low else { return low }
        return low + Int(splitmix(seed ^ sequence &* 0x9E37_79B9_7F4A_7C15) % UInt64(maximum - low + 1))
    }

    /// Fills `buffer` (at least 16 bytes) as record `sequence`.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer, sequence: UInt64) {
        precondition(buffer.count >= minimumLength)
        var state = sequence &+ 0x5151
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var index = minimumLength
        while index < buffer.count {
            state = splitmix(state)
            var word = state
            let stop = min(index + 8, buffer.count)
            while index < stop {
                let byte = UInt8(truncatingIfNeeded: word)
                buffer[index] = byte
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
                word >>= 8
                index += 1
            }
        }
        buffer.storeBytes(of: sequence.littleEndian, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: hash.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// The sequence number of a well-formed payload, nil when it is torn or corrupt.
    public static func verify(_ payload: UnsafeRawBufferPointer) -> UInt64? {
        guard payload.count >= minimumLength else { return nil }
        let sequence = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let stored = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for index in minimumLength..<payload.count {
            hash = (hash ^ UInt64(payload[index])) &* 0x100_0000_01B3
        }
        return hash == stored ? sequence : nil
    }

    /// SplitMix64: a tiny, good mixing function.
    public static func splitmix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
