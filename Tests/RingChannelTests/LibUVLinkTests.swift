import CLibUV
import Testing

@Suite struct LibUVLinkTests {
    /// The system libuv is found through pkg-config and links: the supervisor's loop stands on it.
    @Test func libuvIsLinkedAndRecent() {
        let version = uv_version()
        #expect(version >> 16 >= 1, "libuv major version \(version >> 16)")
        #expect(String(cString: uv_version_string()).hasPrefix("1."))
    }
}
