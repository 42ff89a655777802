import Testing
import Glibc
import RingChannel
import RingmasterTestSupport

@Suite struct TwoProcessTests {
    @Test(arguments: ChannelKind.allCases)
    func millionRandomSizedRecordsArriveInOrder(kind: ChannelKind) throws {
        let count = 1_000_000
        let (outcome, status) = try runProducer(kind: kind, arguments: ["--records", "\(count)", "--min-size", "16", "--max-size", "600", "--seed", "7"])
        #expect(status == .exited(0))
        #expect(outcome.violation == nil)
        #expect(outcome.corrupt == 0)
        #expect(outcome.sequences.count == count)
        #expect(outcome.sequences.elementsEqual(0..<UInt64(count)))
        #expect(outcome.sawEndOfStream)
    }
}
