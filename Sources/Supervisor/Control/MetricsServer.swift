import CShim
import ControlProtocol
import Glibc
import LoopKit
import Logging
import Manifest
import SystemKit

/// The manifest's `metrics: { listen: HOST:PORT }`: HTTP/1.1 `GET /metrics` served by the loop
/// (docs/METRICS.md). One request per connection, answered and closed; the request head is
/// bounded (`MetricsHTTP`), a connection that does not send it within `deadline` is dropped, and
/// at most `maxConnections` are open at once, so no client can hold the loop, grow memory or use
/// up the descriptors the workers need.
final class MetricsServer {
    /// What the manifest asked for (port 0: any free port).
    let spec: MetricsSpec
    /// The port actually bound.
    let port: Int
    /// Connections open at once beyond which a new one is closed at once.
    static let maxConnections = 64
    /// How long a connection may take to send its request head (a scraper needs milliseconds;
    /// an idle connection must not hold one of the `maxConnections` slots for long).
    static let deadline: Duration = .seconds(10)
    /// How long a client may take to read a response that did not fit the socket buffer at once.
    static let writeDeadline: Duration = .seconds(30)

    /// How long an answered connection is kept to read and drop what the client still sends.
    static let linger: Duration = .seconds(2)

    private final class Client {
        var reader = MetricsHTTP.RequestReader()
        /// The response is out: later input is dropped.
        var answered = false
        let timer: LoopKit.Timer
        init(timer: LoopKit.Timer) { self.timer = timer }
    }

    private var listener: SocketListener?
    private var clients: [ObjectIdentifier: (connection: LineConnection, state: Client)] = [:]
    private let loop: Loop
    private let logger: Logger
    private let render: () -> String

    /// Binds `spec` and starts serving; `render` makes the exposition on the loop thread.
    init(loop: Loop, spec: MetricsSpec, logger: Logger, render: @escaping () -> String) throws(SupervisorError) {
        self.loop = loop
        self.spec = spec
        self.logger = logger
        self.render = render
        let fd = cshim_tcp_listen(spec.host, Int32(spec.port), 64)
        guard fd >= 0 else { throw .startup("cannot serve metrics on \(spec.address): \(Errno.current)") }
        port = Int(cshim_tcp_local_port(fd))
        do {
            listener = try SocketListener(loop: loop, descriptor: FileDescriptor(rawValue: fd)) { [unowned self] descriptor in
                accept(descriptor)
            }
        } catch {
            FileDescriptor(rawValue: fd).close()
            throw .startup("cannot serve metrics on \(spec.address): \(error)")
        }
        logger.info("metrics served on http://\(spec.host):\(port)\(MetricsHTTP.path)")
    }

    private func accept(_ descriptor: FileDescriptor) {
        guard clients.count < Self.maxConnections else {
            descriptor.close()
            logger.debug("metrics: \(Self.maxConnections) connections open; refused one more")
            return
        }
        let connection: LineConnection
        do {
            // One response per connection, rendered by us: the output bound only stops a runaway.
            connection = try LineConnection(loop: loop, descriptor: descriptor, maxLineLength: MetricsHTTP.maxLineLength,
                                            maxPendingOutput: 1 << 30,
                                            onInput: { [unowned self] connection, input in receive(input, on: connection) },
                                            onClose: { [unowned self] connection in
                                                clients.removeValue(forKey: ObjectIdentifier(connection))?.state.timer.close()
                                            })
        } catch {
            descriptor.close()
            logger.warning("metrics: cannot serve a connection: \(error)")
            return
        }
        let timer = LoopKit.Timer(loop: loop)
        timer.start(after: Self.deadline) { [weak connection] in connection?.close() }
        clients[ObjectIdentifier(connection)] = (connection, Client(timer: timer))
    }

    private func receive(_ input: LineConnection.Input, on connection: LineConnection) {
        guard let client = clients[ObjectIdentifier(connection)]?.state, !client.answered else { return }
        let decision: MetricsHTTP.Decision
        switch input {
        case .line(let bytes):
            guard let decided = client.reader.feed(bytes) else { return }
            decision = decided
        case .tooLong:
            decision = client.reader.tooLong()
        }
        if case .error(let status, let message) = decision {
            logger.debug("metrics: answered \(status): \(message)")
        }
        client.answered = true
        connection.send(MetricsHTTP.response(to: decision, metrics: render))
        guard connection.isOpen else { return }
        if connection.pendingOutput == 0 {
            // Lingering close: the response ends here for the client (FIN), but what it still
            // sends (a body, the rest of an oversized head) is read and dropped until it closes,
            // for at most `linger`. Closing with unread input would reset the connection, which
            // can destroy the response before the client reads it.
            shutdown(connection.descriptor.rawValue, Int32(SHUT_WR))
            client.timer.start(after: Self.linger) { [weak connection] in connection?.close() }
        } else {
            // A large exposition still being written (GET has no body: nothing is left unread).
            client.timer.start(after: Self.writeDeadline) { [weak connection] in connection?.close() }
            connection.closeWhenFlushed()
        }
    }

    /// Stops serving: closes the listener and every connection. Idempotent.
    func close() {
        guard let listener else { return }
        listener.close()
        self.listener = nil
        for (connection, _) in Array(clients.values) { connection.close() }
        clients.removeAll()
    }
}

extension Supervisor {
    /// The control command `metrics`: the same exposition as `GET /metrics`.
    func metricsResponse(id: Int?) -> ControlResponse {
        var response = ControlResponse(id: id, ok: true)
        response.metrics = PrometheusText.render(statusReport(advancingRate: false))
        return response
    }

    /// Serves the manifest's `metrics` block, if it has one.
    func serveMetrics() throws(SupervisorError) {
        guard let spec = manifest.metrics else { return }
        metricsServer = try MetricsServer(loop: loop, spec: spec, logger: logger) { [unowned self] in
            PrometheusText.render(statusReport(advancingRate: false))
        }
    }

    /// A reload does not move the HTTP endpoint (its clients would lose it mid-scrape): warns
    /// when the new manifest's `metrics` differs from what is served.
    func noteMetricsChange(_ fresh: Manifest) {
        guard fresh.metrics != metricsServer?.spec else { return }
        let served = metricsServer.map { "still serving on \($0.spec.host):\($0.port)" } ?? "metrics stay unserved"
        logger.warning("reload: the metrics block changed; it takes effect when the supervisor restarts (\(served))")
    }
}
