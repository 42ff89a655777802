/// The version of Ringmaster this build is: `ringmaster --version` prints it and the metric
/// `ringmaster_build_info` carries it.
public enum RingmasterVersion {
    public static let current = "0.1.0"
}
