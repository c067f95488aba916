import Glibc

/// The name a pod program answers with (`/hostname`, the `X-Pod-Name` header, the UDP `hostname` command).
public enum PodName {
    /// `POD_NAME` from the environment when it is set and not empty (the lab sets it for every container, as a
    /// Kubernetes manifest would through the downward API), else the host name, which is what agnhost answers.
    public static func current() -> String {
        if let value = getenv("POD_NAME"), value.pointee != 0 { return String(cString: value) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
