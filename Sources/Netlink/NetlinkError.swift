import Glibc

/// A failed kernel operation: what was attempted, and the errno the kernel answered with.
///
/// `description` reads like `RTM_NEWLINK veth wft1a2b: File exists (EEXIST)`, followed by the kernel's
/// extended-ack message when it sent one. Compare `errno` against `EEXIST`, `ENOENT`, `ESRCH`, `ENODEV`, …
public struct NetlinkError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What was attempted, e.g. `RTM_NEWLINK veth wft1a2b` or `open netns /run/netns/x`.
    public let operation: String
    /// The positive errno value.
    public let errno: Int32
    /// The kernel's extended-ack text (`NLMSGERR_ATTR_MSG`), if it sent one.
    public let kernelMessage: String?

    public init(operation: String, errno: Int32, kernelMessage: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.kernelMessage = kernelMessage
    }

    /// An error from the current thread's `errno`.
    static func fromErrno(_ operation: String) -> NetlinkError {
        NetlinkError(operation: operation, errno: Glibc.errno)
    }

    /// `strerror` text for `errno`.
    public var reason: String { String(cString: strerror(errno)) }

    /// The symbolic name of `errno` for the common cases (`EEXIST`), or `errno N`.
    public var errnoName: String {
        switch errno {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case ESRCH: "ESRCH"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENODEV: "ENODEV"
        case ENOTDIR: "ENOTDIR"
        case EINVAL: "EINVAL"
        case ENOSPC: "ENOSPC"
        case ERANGE: "ERANGE"
        case ENOBUFS: "ENOBUFS"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ENETUNREACH: "ENETUNREACH"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case EPROTONOSUPPORT: "EPROTONOSUPPORT"
        case ENOTSUP: "ENOTSUP"
        default: "errno \(errno)"
        }
    }

    public var description: String {
        var text = "\(operation): \(reason) (\(errnoName))"
        if let kernelMessage, !kernelMessage.isEmpty { text += ": \(kernelMessage)" }
        return text
    }

    /// The object already exists (`EEXIST`).
    public var isExists: Bool { errno == EEXIST }
    /// The object does not exist (`ENOENT`, `ESRCH`, `ENODEV` or `EADDRNOTAVAIL`, depending on the object).
    public var isNotFound: Bool { errno == ENOENT || errno == ESRCH || errno == ENODEV || errno == EADDRNOTAVAIL }
}
