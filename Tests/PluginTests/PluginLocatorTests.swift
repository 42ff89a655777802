import Supervisor
import TestHarness
import Testing

/// Where `plugin:` values are looked for (pure rules, no loading).
@Suite struct PluginLocatorTests {
    let locator = PluginLocator(binaryDirectory: "/opt/rm/bin", searchPath: "/usr/lib/rm:rel", manifestDirectory: "/srv/m")

    @Test func nameIsSearchedBesideTheBinaryThenOnThePluginPath() {
        #expect(locator.candidates(for: "sqlite") == [
            "/opt/rm/bin/plugins/libsqlite.so", "/opt/rm/bin/libsqlite.so", "/usr/lib/rm/libsqlite.so", "rel/libsqlite.so",
        ])
    }

    @Test(arguments: [("./x/libc.so", "/srv/m/./x/libc.so"), ("/abs/lib.so", "/abs/lib.so"), ("sub/lib.so", "/srv/m/sub/lib.so")])
    func anythingWithASlashIsAFileBesideTheManifest(plugin: String, expected: String) {
        #expect(locator.candidates(for: plugin) == [expected])
    }
}
