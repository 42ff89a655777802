import Manifest
import Testing

/// The `metrics` block: `{ listen: HOST:PORT }`, an IPv4 dotted quad and a port 0...65535.
let metricsCases: [Invalid] = [
    Invalid("host is a name", worker() + "metrics: { listen: localhost:9464 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got 'localhost:9464'; the host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0)"),
    Invalid("host is IPv6", worker() + "metrics: { listen: '[::1]:9464' }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '[::1]:9464'; the host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0)"),
    Invalid("host part above 255", worker() + "metrics: { listen: 256.0.0.1:80 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '256.0.0.1:80'; the host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0)"),
    Invalid("host part with a leading zero", worker() + "metrics: { listen: 127.0.0.01:80 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '127.0.0.01:80'; the host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0)"),
    Invalid("host with three parts", worker() + "metrics: { listen: 127.0.1:80 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '127.0.1:80'; the host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0)"),
    Invalid("host missing", worker() + "metrics: { listen: ':9464' }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got ':9464'; the host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0)"),
    Invalid("port above 65535", worker() + "metrics: { listen: 127.0.0.1:65536 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '127.0.0.1:65536'; the port must be a number from 0 to 65535)"),
    Invalid("port negative", worker() + "metrics: { listen: 127.0.0.1:-1 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '127.0.0.1:-1'; the port must be a number from 0 to 65535)"),
    Invalid("port empty", worker() + "metrics: { listen: '127.0.0.1:' }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '127.0.0.1:'; the port must be a number from 0 to 65535)"),
    Invalid("port missing", worker() + "metrics: { listen: 127.0.0.1 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got '127.0.0.1'; the port is missing)"),
    Invalid("a bare port", worker() + "metrics: { listen: 9464 }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got 9464; the host is missing: write 127.0.0.1:9464 for this machine only, 0.0.0.0:9464 for every interface)"),
    Invalid("listen null", worker() + "metrics: { listen: ~ }\n",
            "m.yaml:5:20: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got null)"),
    Invalid("listen a list", worker() + "metrics:\n  listen: [127.0.0.1, 9464]\n",
            "m.yaml:6:11: metrics.listen must be HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464 (got a list)"),
    Invalid("listen misspelled", worker() + "metrics:\n  lisen: 127.0.0.1:9464\n",
            "m.yaml:5:1: metrics.listen is missing (expected the address to serve on, such as 127.0.0.1:9464)",
            "m.yaml:6:3: metrics.lisen is not a known key (did you mean 'listen'?)"),
    Invalid("unknown key beside listen", worker() + "metrics:\n  listen: 127.0.0.1:9464\n  path: /m\n",
            "m.yaml:7:3: metrics.path is not a known key (expected one of listen)"),
    Invalid("metrics not a map", worker() + "metrics: 9464\n",
            "m.yaml:5:10: metrics must be a map with listen (got 9464)"),
    Invalid("metrics empty", worker() + "metrics: {}\n",
            "m.yaml:5:1: metrics.listen is missing (expected the address to serve on, such as 127.0.0.1:9464)"),
    Invalid("metrics misspelled at the top level", worker() + "metric: { listen: 127.0.0.1:9464 }\n",
            "m.yaml:5:1: metric is not a known key (did you mean 'metrics'?)"),
]

@Suite("The metrics block")
struct MetricsSectionTests {
    @Test(arguments: metricsCases)
    func invalid(_ row: Invalid) {
        #expect(errorDescriptions(row.yaml) == row.expected)
    }

    @Test(arguments: [
        ("127.0.0.1:9464", MetricsSpec(host: "127.0.0.1", port: 9464)),
        ("0.0.0.0:0", MetricsSpec(host: "0.0.0.0", port: 0)),
        ("'10.20.30.255:65535'", MetricsSpec(host: "10.20.30.255", port: 65535)),
        ("\"192.168.0.10:80\"", MetricsSpec(host: "192.168.0.10", port: 80)),
    ])
    func valid(listen: String, expected: MetricsSpec) throws {
        let manifest = try parse(worker() + "metrics: { listen: \(listen) }\n")
        #expect(manifest.metrics == expected)
        #expect(manifest.metrics?.address == "\(expected.host):\(expected.port)")
    }

    @Test func absentMeansNotServed() throws {
        #expect(try parse(worker()).metrics == nil)
    }

    @Test func errorsElsewhereAreStillAllReported() {
        let errors = errorDescriptions(worker("instances: 0") + "metrics: { listen: nowhere:1 }\n")
        #expect(errors.count == 2)
        #expect(errors.first?.hasPrefix("m.yaml:5:16: workers.w.instances") == true)
        #expect(errors.last?.hasPrefix("m.yaml:6:20: metrics.listen") == true)
    }
}
