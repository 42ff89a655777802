import CShim
import Foundation
import Glibc
import RingChannel
import TestHarness
import Testing

/// The Swift SDK against the conformance vectors: `RingWriter` replays each vector's operations,
/// the segment must equal the vector's image byte for byte, and a `RingReader` (playing the
/// supervisor at every `release`) must drain exactly the records the operations committed.
///
/// With `RINGMASTER_CONFORMANCE_WRITE=1` the images are rewritten from this replay instead (and the
/// test fails, so that a rewrite is never a green run); see conformance/README.md.
@Suite struct ConformanceTests {
    static let files = (try? FileManager.default.contentsOfDirectory(
        atPath: packageRoot + "/conformance/vectors"))?
        .filter { $0.hasSuffix(".vec") }.sorted() ?? []

    @Test func thereAreVectors() {
        #expect(Self.files.count >= 8, "conformance/vectors holds \(Self.files)")
    }

    @Test(arguments: files)
    func swiftWriterMatchesTheVector(_ file: String) throws {
        let vector = try Vector(path: packageRoot + "/conformance/vectors/" + file)
        let replay = try SwiftReplay(vector)
        if ProcessInfo.processInfo.environment["RINGMASTER_CONFORMANCE_WRITE"] == "1" {
            try replay.rewriteImages()
            Issue.record("\(file): images rewritten from the Swift writer; review the diff, then run without RINGMASTER_CONFORMANCE_WRITE")
            return
        }
        for failure in replay.failures { Issue.record(Comment(rawValue: "\(file):\(failure)")) }
        if vector.attachError == nil {
            #expect(replay.delivered.count == replay.model.count, "\(file): reader saw \(replay.delivered.count) records, operations committed \(replay.model.count)")
            for (index, (got, want)) in zip(replay.delivered, replay.model).enumerated() where got != want {
                Issue.record("\(file): record \(index): reader saw type \(got.type) with \(got.payload.count) bytes, expected type \(want.type) with \(want.payload.count) bytes")
                break
            }
        }
    }
}

/// A record as the operations define it and as the reader drains it.
struct ModelRecord: Equatable {
    let type: UInt16
    let payload: [UInt8]
}

/// One vector replayed through the Swift writer, with a reader draining at every `release`.
final class SwiftReplay {
    let vector: Vector
    let segment: Segment
    var reader: RingReader
    var failures: [String] = []
    var delivered: [ModelRecord] = []
    var model: [ModelRecord] = []
    var reservation: (type: UInt16, payload: [UInt8])?
    /// Each `image` block's lines and the image this replay produced there.
    var images: [(lines: ClosedRange<Int>, image: [UInt8])] = []

    init(_ vector: Vector) throws {
        self.vector = vector
        segment = try Segment.createMemfd(label: "vector", geometry: RingGeometry(capacity: vector.capacity, maxRecord: vector.maxRecord))
        let notifiers = try NotifierPair.makeEventFDs()
        reader = RingReader(segment: segment, notifiers: notifiers)
        let base = segment.region.base
        for (field, value) in vector.headerOverrides {
            switch field {
            case "magic": base.storeBytes(of: value.littleEndian, toByteOffset: SegmentLayout.magicOffset, as: UInt64.self)
            case "version": base.storeBytes(of: UInt32(value).littleEndian, toByteOffset: SegmentLayout.versionOffset, as: UInt32.self)
            case "header-size": base.storeBytes(of: UInt32(value).littleEndian, toByteOffset: SegmentLayout.headerSizeOffset, as: UInt32.self)
            case "data-offset": base.storeBytes(of: UInt32(value).littleEndian, toByteOffset: SegmentLayout.dataOffsetOffset, as: UInt32.self)
            default: throw VectorError(message: "unknown header field \(field)")
            }
        }
        let attached: Segment
        do {
            attached = try Segment.attach(descriptor: FileDescriptor(rawValue: dup(segment.descriptor.rawValue)))
        } catch {
            if let expected = vector.attachError {
                if !"\(error)".contains(expected) { failures.append(" attach failed with `\(error)`, expected `\(expected)`") }
            } else {
                failures.append(" attach failed: \(error)")
            }
            return
        }
        if let expected = vector.attachError { failures.append(" attach succeeded, expected the error `\(expected)`"); return }
        var writer = RingWriter(segment: attached, notifiers: notifiers)
        writer.announce(pid: UInt32(getpid()))
        apply(vector.statements[...], to: &writer)
        drain()
    }

    /// The segment as it is now, with the run-dependent advisory words (pid, heartbeat) zeroed.
    var currentImage: [UInt8] {
        var bytes = Array(UnsafeRawBufferPointer(start: segment.region.base, count: SegmentLayout.dataOffset + Int(vector.capacity)))
        for offset in 640..<648 { bytes[offset] = 0 }
        for offset in 664..<672 { bytes[offset] = 0 }
        return bytes
    }

    func load64(_ offset: Int) -> UInt64 { cshim_load_acquire_u64(segment.region.base + offset) }

    func drain() {
        do {
            _ = try reader.drain { record in delivered.append(ModelRecord(type: record.type.rawValue, payload: record.bytes)) }
        } catch {
            failures.append(" the reader found a violation: \(error)")
        }
    }

    func apply(_ statements: ArraySlice<(line: Int, statement: Vector.Statement)>, to writer: inout RingWriter) {
        var index = statements.startIndex
        while index < statements.endIndex {
            let (line, statement) = statements[index]
            func fail(_ message: String) { failures.append("\(line): \(message)") }
            do {
                switch statement {
                case .send(let type, let payload):
                    try writer.send(type: RecordType(rawValue: type), bytes: payload)
                    model.append(ModelRecord(type: type, payload: payload))
                case .reserve(let type, let length, let payload):
                    let buffer = try writer.reserve(length, type: RecordType(rawValue: type))
                    buffer.copyBytes(from: payload)
                    reservation = (type, payload)
                case .commit(let used):
                    try writer.commit(length: used)
                    if let reservation { model.append(ModelRecord(type: reservation.type, payload: Array(reservation.payload.prefix(used)))) }
                    reservation = nil
                case .abort:
                    writer.abort()
                    reservation = nil
                case .batch:
                    // The statements up to the matching `end` run inside one batch.
                    var depth = 0, end = index
                    repeat {
                        if case .batch = statements[end].statement { depth += 1 }
                        if case .end = statements[end].statement { depth -= 1 }
                        end += 1
                    } while depth > 0 && end < statements.endIndex
                    let inner = statements[(index + 1)..<(end - 1)]
                    writer.batch { (batched: inout RingWriter) in apply(inner, to: &batched) }
                    index = end
                    continue
                case .end: fail("`end` without `batch`")
                case .checkpoint(let payload):
                    try writer.sendReserved(.checkpoint, bytes: payload)
                    model.append(ModelRecord(type: RecordType.checkpoint.rawValue, payload: payload))
                case .log(let payload):
                    try writer.sendReserved(.logLine, bytes: payload)
                    model.append(ModelRecord(type: RecordType.logLine.rawValue, payload: payload))
                case .finish:
                    try writer.sendReserved(.endOfStream, bytes: [])
                    writer.publish()
                    model.append(ModelRecord(type: RecordType.endOfStream.rawValue, payload: []))
                case .release(let position):
                    drain()
                    guard position <= reader.position else { fail("release \(position) beyond what was published (\(reader.position))"); break }
                    reader.release(through: position)
                case .failSend(let type, let payload):
                    let before = currentImage
                    do {
                        try writer.send(type: RecordType(rawValue: type), bytes: payload)
                        fail("send of type \(type) with \(payload.count) bytes succeeded, expected a failure")
                    } catch {}
                    if currentImage != before { fail("the refused send changed the segment") }
                case .tail(let expected):
                    let tail = load64(SegmentLayout.tailOffset)
                    if tail != expected { fail("tail is \(tail), expected \(expected)") }
                case .committed(let expected):
                    let count = load64(SegmentLayout.recordsCommittedOffset)
                    if count != expected { fail("records committed is \(count), expected \(expected)") }
                case .image(let expected, let lines):
                    let image = currentImage
                    images.append((lines, image))
                    if let offset = image.indices.first(where: { image[$0] != expected[$0] }) {
                        fail(String(format: "image differs first at segment offset 0x%x: 0x%02x, expected 0x%02x", offset, image[offset], expected[offset]))
                    }
                }
            } catch {
                fail("\(statement) failed: \(error)")
            }
            index += 1
        }
    }

    /// Replaces every `image` block of the vector file with the image this replay produced.
    func rewriteImages() throws {
        var lines = try String(contentsOfFile: vector.path, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (range, image) in images.reversed() {
            // `range` holds the 0-based indices of the `image` and `end-image` lines.
            lines.replaceSubrange((range.lowerBound + 1)..<range.upperBound, with: Vector.formatImage(image))
        }
        try lines.joined(separator: "\n").write(toFile: vector.path, atomically: true, encoding: .utf8)
    }
}
