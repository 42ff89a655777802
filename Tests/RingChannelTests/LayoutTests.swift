import Testing
import RingChannel

@Suite struct LayoutTests {
    @Test func magicIsTheBytesRINGMSTR() {
        withUnsafeBytes(of: SegmentLayout.magic.littleEndian) { raw in
            #expect(Array(raw) == Array("RINGMSTR".utf8))
        }
    }
}
