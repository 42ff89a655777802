import RingmasterRendering
import Testing

/// The `file-entry` decoder that every consumer shares (docs/PROTOCOL.md §13).
@Suite struct FileEntryRenderingTests {
    /// A payload laid out as the protocol says, field by field.
    static func payload(kind: UInt8 = 1, type: UInt8 = 2, op: UInt8 = 0, flags: UInt8 = 1, errno: UInt32 = 0,
                        size: UInt64 = 4096, mtime: Int64 = 1_700_000_000_123_456_789, inode: UInt64 = 42,
                        device: UInt64 = 2049, nlink: UInt64 = 3, mode: UInt32 = 0o40755, uid: UInt32 = 0,
                        gid: UInt32 = 100, path: [UInt8], pathLength: UInt32? = nil) -> [UInt8] {
        var bytes: [UInt8] = [kind, type, op, flags]
        func add<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        add(errno); add(size); add(UInt64(bitPattern: mtime)); add(inode); add(device); add(nlink)
        add(mode); add(uid); add(gid); add(pathLength ?? UInt32(path.count))
        return bytes + path
    }

    func json(_ bytes: [UInt8]) -> String {
        var out = ""
        bytes.withUnsafeBytes { RecordRendering.jsonValue($0, format: .fileEntry, into: &out) }
        return out
    }

    func readable(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { RecordRendering.readable($0, format: .fileEntry) }
    }

    @Test func entryBecomesAnObjectWithEveryField() {
        let bytes = Self.payload(path: Array("/usr/lib".utf8))
        #expect(bytes.count == 64 + 8)
        #expect(json(bytes) == #"{"path":"/usr/lib","type":"dir","size":4096,"mode":"0755","uid":0,"gid":100,"mtime_ns":1700000000123456789,"inode":42,"device":2049,"nlink":3}"#)
        #expect(readable(bytes) == "dir 4096 /usr/lib")
    }

    @Test func pathThatIsNotUTF8KeepsItsBytesInBase64() {
        let bytes = Self.payload(type: 1, mode: 0o104755, path: [0x2F, 0x61, 0xFF, 0x0A, 0x62])
        #expect(json(bytes) == #"{"path":"/a\\xff\nb","path_b64":"L2H/CmI=","type":"file","size":4096,"mode":"4755","uid":0,"gid":100,"mtime_ns":1700000000123456789,"inode":42,"device":2049,"nlink":3}"#)
        #expect(readable(bytes) == #"file 4096 /a\xff\nb"#)
    }

    @Test func entryWithoutStatusHasTypeAndInodeOnly() {
        let bytes = Self.payload(type: 3, flags: 0, size: 0, mtime: 0, inode: 7, path: Array("/l".utf8))
        #expect(json(bytes) == #"{"path":"/l","type":"symlink","inode":7}"#)
        #expect(readable(bytes) == "symlink - /l")
    }

    @Test func errorRecordNamesTheErrnoAndTheStep() {
        let bytes = Self.payload(kind: 2, type: 2, op: 2, flags: 0, errno: 13, path: Array("/root/secret".utf8))
        #expect(json(bytes) == #"{"path":"/root/secret","error":"EACCES","errno":13,"op":"open","type":"dir"}"#)
        #expect(readable(bytes) == "error EACCES open /root/secret")
        let loop = Self.payload(kind: 2, type: 0, op: 1, flags: 0, errno: 40, path: Array("/x".utf8))
        #expect(json(loop) == #"{"path":"/x","error":"ELOOP","errno":40,"op":"stat"}"#)
    }

    @Test(arguments: [
        ([UInt8](), "payload of 0 bytes is shorter than the 64-byte header"),
        ([UInt8](repeating: 1, count: 63), "payload of 63 bytes is shorter than the 64-byte header"),
        (payload(kind: 3, path: []), "kind 3 is neither 1 (entry) nor 2 (error)"),
        (payload(path: Array("/abc".utf8), pathLength: 5), "path length 5 runs past the payload of 68 bytes"),
        (payload(path: [], pathLength: .max), "path length 4294967295 runs past the payload of 64 bytes"),
    ])
    func malformedPayloadIsAnErrorObject(bytes: [UInt8], detail: String) {
        let out = json(bytes)
        #expect(out.hasPrefix(#"{"error":"malformed","detail":"file-entry \#(detail)","payload_b64":""#))
        Array(out.utf8).withUnsafeBytes { #expect(JSONSyntax.isValid($0)) }
        #expect(readable(bytes) == "malformed file-entry: \(detail)")
    }

    @Test func protocolDocumentExamples() {
        // The hex dumps of docs/PROTOCOL.md §13, byte for byte.
        let hosts: [UInt8] = [
            0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xae, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x15, 0xcd, 0x85, 0x3d, 0xfe, 0x9c, 0x97, 0x17, 0x1f, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xa4, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00,
        ] + Array("/etc/hosts".utf8)
        #expect(hosts == Self.payload(type: 1, size: 174, inode: 1311, nlink: 1, mode: 0o100644, gid: 0, path: Array("/etc/hosts".utf8)))
        #expect(json(hosts) == #"{"path":"/etc/hosts","type":"file","size":174,"mode":"0644","uid":0,"gid":0,"mtime_ns":1700000000123456789,"inode":1311,"device":2049,"nlink":1}"#)
        let root = [0x02, 0x02, 0x02, 0x00, 0x0d] + [UInt8](repeating: 0, count: 55) + [0x05, 0, 0, 0] + Array("/root".utf8)
        #expect(json(root) == #"{"path":"/root","error":"EACCES","errno":13,"op":"open","type":"dir"}"#)
        let cafe = Self.payload(flags: 0, inode: 77, path: Array("/srv/caf".utf8) + [0xC3])
        #expect(json(cafe) == #"{"path":"/srv/caf\\xc3","path_b64":"L3Nydi9jYWbD","type":"dir","inode":77}"#)
    }

    @Test(arguments: ["plain/path", "quote\"and\\backslash", "tab\tnew\nline\rcr", "ctl\u{1}\u{1f}\u{7f}", "caf\u{e9}/\u{1F600}\u{2028}"])
    func validUTF8PathsEscapeLikeTextStrings(path: String) {
        var expected = "{\"path\":"
        RecordRendering.appendJSONString(path, to: &expected)
        #expect(json(Self.payload(flags: 0, path: Array(path.utf8))).hasPrefix(expected + ",\"type\":"))
    }

    @Test func trailingBytesAfterThePathAreIgnored() {
        let bytes = Self.payload(path: Array("/a".utf8)) + [9, 9, 9]
        #expect(json(bytes).hasPrefix(#"{"path":"/a","type":"dir""#))
    }

    @Test func randomAndCutPayloadsNeverTrapAndStayValidJSON() {
        var generator = SystemRandomNumberGenerator()
        let valid = Self.payload(path: Array("/some/where/\u{e9}".utf8))
        var cases: [[UInt8]] = (0...valid.count).map { Array(valid.prefix($0)) }
        for _ in 0..<2000 {
            var bytes = (0..<Int.random(in: 0..<160, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count >= 64, Bool.random(using: &generator) {
                bytes[0] = UInt8.random(in: 1...2, using: &generator)
                bytes[60] = UInt8(min(bytes.count - 64, Int.random(in: 0...96, using: &generator)))
                bytes[61] = 0; bytes[62] = 0; bytes[63] = 0
            }
            cases.append(bytes)
        }
        var wellFormed = 0
        for bytes in cases {
            let out = json(bytes)
            Array(out.utf8).withUnsafeBytes { #expect(JSONSyntax.isValid($0), "\(out)") }
            #expect(!out.contains("\n") && !readable(bytes).contains("\n"))
            if !out.hasPrefix(#"{"error":"malformed""#) { wellFormed += 1 }
        }
        #expect(wellFormed > 100, "the generator makes well-formed records too")
    }
}
