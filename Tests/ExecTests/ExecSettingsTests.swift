import ExecConsumerCore
import RingmasterConsumerKit
import Testing

/// The exec consumer's settings: every problem reported at its key.
@Suite struct ExecSettingsTests {
    private func parse(_ json: String) throws(SettingsError) -> ExecSettings {
        try ExecSettings(try ConsumerSettings(json: json))
    }

    @Test func fullSettingsAreRead() throws {
        let settings = try parse("""
            {"args":["-u","x.py",3],"command":"python3","env":{"B":"2","A":"1"},"format":"binary","grace":"2s",\
            "restart":{"backoff":{"factor":3,"initial":"10ms","jitter":0,"max":"1s"},"budget":{"restarts":2,"within":"5s"},\
            "policy":"always","reset_after":"1m","success_exit_codes":[0,3]}}
            """)
        #expect(settings.command == "python3")
        #expect(settings.arguments == ["-u", "x.py", "3"])
        #expect(settings.environment.map(\.name) == ["A", "B"])
        #expect(settings.format == .binary)
        #expect(settings.grace == .seconds(2))
        #expect(settings.restart.policy == .always)
        #expect(settings.restart.initial == .milliseconds(10))
        #expect(settings.restart.max == .seconds(1))
        #expect(settings.restart.factor == 3)
        #expect(settings.restart.jitter == 0)
        #expect(settings.restart.restarts == 2)
        #expect(settings.restart.within == .seconds(5))
        #expect(settings.restart.resetAfter == .seconds(60))
        #expect(settings.restart.successExitCodes == [0, 3])
    }

    @Test func defaultsAreTheWorkers() throws {
        let settings = try parse(#"{"command":"cat"}"#)
        #expect(settings.format == .jsonl)
        #expect(settings.restart == ChildRestartSpec())
        #expect(settings.restart.policy == .onFailure && settings.restart.restarts == 10)
    }

    @Test(arguments: [
        (#"{}"#, "the exec consumer needs a command (a path or a name on PATH)"),
        (#"{"command":""}"#, "command: must not be empty"),
        (#"{"command":"cat","format":"xml"}"#, "format: must be one of jsonl, binary (got 'xml')"),
        (#"{"command":"cat","args":"x"}"#, "args: must be a list of strings"),
        (#"{"command":"cat","env":{"A":[1]}}"#, "env: A must be a string"),
        (#"{"command":"cat","colour":1}"#, "colour: is not a setting of the exec consumer (it takes args, command, env, format, grace, restart)"),
        (#"{"command":"cat","restart":{"policy":"sometimes"}}"#, "restart: policy must be one of always, on-failure, never (got 'sometimes')"),
        (#"{"command":"cat","restart":{"backoff":{"factor":0.5}}}"#, "restart: backoff.factor must be a number ≥ 1"),
        (#"{"command":"cat","restart":{"backoff":{"initial":"2s","max":"1s"}}}"#, "restart: backoff.max must be at least backoff.initial"),
        (#"{"command":"cat","restart":{"budget":{"restarts":-1}}}"#, "restart: budget.restarts must be an integer ≥ 0"),
        (#"{"command":"cat","restart":{"budget":{"within":"soon"}}}"#, "restart: budget.within must be a duration such as 50ms, 5s or 2m (got 'soon')"),
        (#"{"command":"cat","restart":{"tries":3}}"#, "restart: tries is not a restart setting (known: policy, success_exit_codes, backoff, budget, reset_after)"),
    ])
    func problemsNameTheirSetting(json: String, message: String) {
        #expect(throws: SettingsError.self) { try parse(json) }
        do {
            _ = try parse(json)
        } catch {
            #expect("\(error)" == message)
        }
    }
}
