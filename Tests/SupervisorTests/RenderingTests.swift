import RingmasterRendering
import Testing

/// The one decoder every consumer shares.
@Suite struct RenderingTests {
    func jsonValue(_ bytes: [UInt8], _ format: PayloadFormat) -> String {
        var out = ""
        bytes.withUnsafeBytes { RecordRendering.jsonValue($0, format: format, into: &out) }
        return out
    }

    @Test(arguments: [
        ("{\"a\": [1, 2.5e3, true, null]}", "{\"a\": [1, 2.5e3, true, null]}"),
        ("{\n  \"a\": 1\r\n}", "{   \"a\": 1  }"),
        ("{\"a\": 1", "\"{\\\"a\\\": 1\""),
        ("[1, 2,]", "\"[1, 2,]\""),
        ("\"caf\u{e9}\"", "\"caf\u{e9}\""),
    ])
    func jsonPassesThroughOnOneLineOrIsWrappedWhenInvalid(input: String, expected: String) {
        let out = jsonValue(Array(input.utf8), .json)
        #expect(out == expected)
        #expect(!out.contains("\n") && !out.contains("\r"))
    }

    @Test func textEscapesInvalidUTF8AndControlCharacters() {
        #expect(jsonValue([0x68, 0x69, 0xFF, 0x0A, 0x22], .text) == "\"hi\\\\xff\\n\\\"\"")
        ([0x61, 0xC3] as [UInt8]).withUnsafeBytes { #expect(RecordRendering.readable($0, format: .text) == "a\\xc3") }
    }

    @Test func bytesAreBase64() {
        #expect(jsonValue([0, 1, 2, 250], .bytes) == "\"AAEC+g==\"")
    }

    @Test(arguments: ["{}", "[]", "0", "-1.5E-3", "\"\\u00e9\"", " true ", "{\"a\":{\"b\":[{}]}}"])
    func validJSON(text: String) {
        Array(text.utf8).withUnsafeBytes { #expect(JSONSyntax.isValid($0)) }
    }

    @Test(arguments: ["", "{", "01", "1.", "\"\u{1}\"", "tru", "{\"a\" 1}", "[1 2]", "\"\\x\"", "1 2"])
    func invalidJSON(text: String) {
        Array(text.utf8).withUnsafeBytes { #expect(!JSONSyntax.isValid($0)) }
    }
}
