import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The nftables backend that calls libnftables in-process (what `nft` itself is built on), loaded with `dlopen`
/// at run time so that nothing links against it: no process per transaction, same text syntax and errors.
///
/// One context is kept per instance and used by one call at a time.
public final class LibNFTables: NFTablesBackend, @unchecked Sendable {
    /// The library's soname.
    public static let libraryName = "libnftables.so.1"

    private let api: API
    /// Guards `context`: an nft context is not thread-safe.
    private let lock = Mutex(())
    private let context: OpaquePointer

    /// Loads libnftables and creates a context; `nil` when the library or one of its functions is missing.
    public init?() {
        guard let api = API.shared, let context = api.ctxNew(0) else { return nil }
        self.api = api
        self.context = context
        _ = api.bufferOutput(context)
        _ = api.bufferError(context)
    }

    deinit { api.ctxFree(context) }

    public func apply(_ tx: Transaction) throws { try applyTransaction(tx) }

    public func listTableNames(family: Family?) throws -> [(family: Family, name: String)] {
        try listTableNamesVia(family: family)
    }

    public func listRules(family: Family, table: String, chain: String) throws -> [Rule] {
        try listRulesVia(family: family, table: table, chain: chain)
    }

    public func listElements(family: Family, table: String, set: String) throws -> [Element] {
        try listElementsVia(family: family, table: table, set: set)
    }

    public func listTable(family: Family, table: String) throws -> String? {
        try listTableVia(family: family, table: table)
    }

    public func replaceElements(of sets: [NFTSet], with elements: [Element]) throws {
        try replaceElementsInKernel(of: sets, with: elements)
    }

    public func tableInfo(family: Family, table: String) throws -> NFTTableInfo? {
        try NFTNetlink.tableInfo(family: family, table: table)
    }

    /// The functions of libnftables this backend uses.
    private struct API: @unchecked Sendable {
        typealias CtxNew = @convention(c) (UInt32) -> OpaquePointer?
        typealias CtxFree = @convention(c) (OpaquePointer) -> Void
        typealias CtxInt = @convention(c) (OpaquePointer) -> Int32
        typealias GetBuffer = @convention(c) (OpaquePointer) -> UnsafePointer<CChar>?
        typealias SetFlags = @convention(c) (OpaquePointer, UInt32) -> Void
        typealias RunBuffer = @convention(c) (OpaquePointer, UnsafePointer<CChar>) -> Int32
        typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32

        let ctxNew: CtxNew
        let ctxFree: CtxFree
        let bufferOutput: CtxInt
        let bufferError: CtxInt
        let outputBuffer: GetBuffer
        let errorBuffer: GetBuffer
        let setOutputFlags: SetFlags
        let runFromBuffer: RunBuffer
        let runFromFilename: RunBuffer
        /// glibc's `memfd_create`, which Swift's Glibc module does not declare.
        let memfdCreate: MemfdCreate?

        // Output flags of libnftables.h.
        static let flagStateless: UInt32 = 1 << 2
        static let flagHandle: UInt32 = 1 << 3
        static let flagJSON: UInt32 = 1 << 4

        static let shared: API? = {
            guard let handle = dlopen(LibNFTables.libraryName, RTLD_NOW | RTLD_LOCAL) else { return nil }
            func symbol<T>(_ name: String, as type: T.Type) -> T? {
                dlsym(handle, name).map { unsafeBitCast($0, to: type) }
            }
            guard let ctxNew = symbol("nft_ctx_new", as: CtxNew.self),
                let ctxFree = symbol("nft_ctx_free", as: CtxFree.self),
                let bufferOutput = symbol("nft_ctx_buffer_output", as: CtxInt.self),
                let bufferError = symbol("nft_ctx_buffer_error", as: CtxInt.self),
                let outputBuffer = symbol("nft_ctx_get_output_buffer", as: GetBuffer.self),
                let errorBuffer = symbol("nft_ctx_get_error_buffer", as: GetBuffer.self),
                let setOutputFlags = symbol("nft_ctx_output_set_flags", as: SetFlags.self),
                let runFromBuffer = symbol("nft_run_cmd_from_buffer", as: RunBuffer.self),
                let runFromFilename = symbol("nft_run_cmd_from_filename", as: RunBuffer.self)
            else {
                dlclose(handle)
                return nil
            }
            return API(
                ctxNew: ctxNew, ctxFree: ctxFree, bufferOutput: bufferOutput, bufferError: bufferError,
                outputBuffer: outputBuffer, errorBuffer: errorBuffer, setOutputFlags: setOutputFlags,
                runFromBuffer: runFromBuffer, runFromFilename: runFromFilename,
                memfdCreate: dlsym(nil, "memfd_create").map { unsafeBitCast($0, to: MemfdCreate.self) })
        }()
    }
}

extension LibNFTables: NFTRunner {
    func run(_ commands: String, options: NFTRunOptions, operation: String) throws -> String {
        var flags: UInt32 = 0
        if options.contains(.json) { flags |= API.flagJSON }
        if options.contains(.handles) { flags |= API.flagHandle }
        if options.contains(.stateless) { flags |= API.flagStateless }
        // libnftables 1.0.6 reports errors in a buffer without their line (and quotes the buffer's first line),
        // so a transaction goes through an in-memory file, whose errors say `/proc/self/fd/N:LINE:COLUMNS:`.
        let file = options.isEmpty ? Self.memoryFile(api, holding: commands) : nil
        defer { if let file { close(file) } }
        let (status, output, errors) = lock.withLock { _ in
            api.setOutputFlags(context, flags)
            let status =
                if let file {
                    api.runFromFilename(context, "/proc/self/fd/\(file)")
                } else {
                    api.runFromBuffer(context, commands)
                }
            // Reading a buffer also resets it for the next command.
            let output = api.outputBuffer(context).map { String(cString: $0) } ?? ""
            let errors = api.errorBuffer(context).map { String(cString: $0) } ?? ""
            return (status, output, errors)
        }
        guard status == 0 else {
            throw NFTablesError.fromNFT(operation: operation, errorOutput: errors, input: commands)
        }
        return output
    }

    /// A memfd holding `text`, or `nil` when memfd_create is unavailable or fails.
    private static func memoryFile(_ api: API, holding text: String) -> Int32? {
        guard let memfdCreate = api.memfdCreate else { return nil }
        let mfdCloexec: UInt32 = 1
        let fd = memfdCreate("weft-nft", mfdCloexec)
        guard fd >= 0 else { return nil }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                offset += n
            } else if !(n == -1 && errno == EINTR) {
                close(fd)
                return nil
            }
        }
        bytes.removeAll()
        return fd
    }
}
