import CWeftLinux
import Glibc
import Netlink

/// What a table holds apart from rules and elements, read over netlink (no element is read: cheap whatever the
/// size of the sets).
public struct NFTTableInfo: Sendable, Equatable {
    /// The table's comment.
    public var comment: String?
    /// The names of its chains and of its named sets and maps, and which of those are maps.
    public var chains: Set<String>
    public var sets: Set<String>
    public var maps: Set<String>

    public init(comment: String?, chains: Set<String>, sets: Set<String>, maps: Set<String> = []) {
        self.comment = comment
        self.chains = chains
        self.sets = sets
        self.maps = maps
    }
}

/// nftables spoken over netlink (`NETLINK_NETFILTER`, subsystem `NFNL_SUBSYS_NFTABLES`) for the two things nft's
/// text path makes slow: filling sets with tens of thousands of elements (nft parses and evaluates each element:
/// ~25 µs apiece, 2–3 s for the proxy's 100,000; the kernel's share is a fraction of that) and reading a table's
/// shape (nft lists every element to print a table, even terse). Everything else stays text.
///
/// Messages as libnftnl builds them (linux/netfilter/nf_tables.h): one batch (`NFNL_MSG_BATCH_BEGIN` … `END`, one
/// kernel transaction: all or nothing), each set flushed with an element-less `NFT_MSG_DELSETELEM`, elements
/// added by `NFT_MSG_NEWSETELEM` messages of at most ~48 KiB (a nested attribute's length is 16 bits).
enum NFTNetlink {
    // linux/netfilter/nfnetlink.h, nf_tables.h
    static let subsystem: UInt16 = 10  // NFNL_SUBSYS_NFTABLES
    static let batchBegin: UInt16 = 0x10  // NFNL_MSG_BATCH_BEGIN
    static let batchEnd: UInt16 = 0x11
    enum Message: UInt16 {
        case getTable = 1, getChain = 4, getSet = 10, newSetElement = 12, deleteSetElement = 14
    }
    static let tableName = 1, tableUserData = 6
    static let chainTable = 1, chainName = 3
    static let setTable = 1, setName = 2, setFlags = 3
    static let setFlagMap: UInt32 = 0x8  // NFT_SET_MAP
    static let listTable = 1, listSet = 2, listElements = 3
    static let listElement = 1
    static let elementKey = 1, elementData = 2, elementKeyEnd = 10
    static let dataValue = 1, dataVerdict = 2
    static let verdictCode = 1, verdictChain = 2

    /// `NFPROTO_*` of a family.
    static func number(_ family: Family) -> UInt8 {
        switch family {
        case .inet: 1
        case .ip: 2
        case .arp: 3
        case .netdev: 5
        case .bridge: 7
        case .ip6: 10
        }
    }

    static func message(_ type: UInt16, family: UInt8, flags: Int32, resourceID: UInt16 = 0) -> MessageBuilder {
        var m = MessageBuilder(type: type, flags: UInt16(flags))
        // struct nfgenmsg: family, version (NFNETLINK_V0), res_id (big endian)
        m.append(raw: (family, UInt8(0), UInt8(resourceID >> 8), UInt8(resourceID & 0xff)))
        return m
    }

    static func message(_ type: Message, family: Family, flags: Int32 = 0) -> MessageBuilder {
        message(subsystem << 8 | type.rawValue, family: number(family), flags: flags)
    }

    /// A set's elements in the kernel's form.
    struct EncodedElement {
        var key: [UInt8]
        var keyEnd: [UInt8]?
        var value: [UInt8]?
        /// A verdict map's value: the verdict code and the chain of a jump or goto.
        var verdict: (code: Int32, chain: String?)?

        var size: Int { 48 + 2 * key.count + (value?.count ?? 0) + (verdict?.chain?.utf8.count ?? 0) }
    }

    /// How `set`'s elements are encoded; throws `NFTablesError.unavailable` for a layout this encoder does not
    /// know (an interval set that is not a concatenation, an unknown key expression): use text then.
    static func encoder(for set: NFTSet) throws -> (Element) throws -> EncodedElement {
        func unsupported(_ why: String) -> NFTablesError {
            NFTablesError(code: .unavailable, operation: "encode elements of \(set.name)", message: why)
        }
        guard let keyText = set.typeOf ?? set.type, let key = NFTDataLayout(keyText) else {
            throw unsupported("key \(set.typeOf ?? set.type ?? "?") is not encodable")
        }
        let interval = set.flags.contains(.interval)
        if interval && !key.isConcatenation { throw unsupported("an interval set of one field") }
        var value: NFTDataLayout? = nil
        if let mapType = set.mapType, !set.isVerdictMap {
            guard let layout = NFTDataLayout(mapType) else { throw unsupported("value \(mapType) is not encodable") }
            value = layout
        }
        let isVerdictMap = set.isVerdictMap
        return { element in
            if element.timeout != nil || element.comment != nil {
                throw unsupported("elements with a timeout or comment")
            }
            do {
                let (k, end) = try key.encode(element.key, interval: interval)
                var out = EncodedElement(key: k, keyEnd: end)
                if isVerdictMap {
                    guard let text = element.value, let verdict = verdict(text) else {
                        throw unsupported("\(element.value ?? "no value") is not a verdict")
                    }
                    out.verdict = verdict
                } else if let value {
                    guard let text = element.value else { throw unsupported("a map element without a value") }
                    out.value = try value.encode(text, interval: false).key
                }
                return out
            } catch let error as NFTDataLayout.EncodingError {
                throw NFTablesError(
                    code: .invalidTransaction, operation: "add element \(set.table) \(set.name)",
                    message: error.description)
            }
        }
    }

    /// linux/netfilter.h and nf_tables.h verdict codes.
    static func verdict(_ text: String) -> (code: Int32, chain: String?)? {
        let words = text.split(separator: " ")
        switch (words.first, words.count) {
        case ("drop", 1): return (0, nil)
        case ("accept", 1): return (1, nil)
        case ("continue", 1): return (-1, nil)
        case ("return", 1): return (-5, nil)
        case ("jump", 2): return (-3, String(words[1]))
        case ("goto", 2): return (-4, String(words[1]))
        default: return nil
        }
    }

    /// The batch that flushes `sets` and adds `elements` (each in one of `sets`).
    static func replaceBatch(of sets: [NFTSet], with elements: [Element]) throws -> [MessageBuilder] {
        var byName: [String: NFTSet] = [:]
        for set in sets { byName[set.name] = set }
        var grouped: [String: [Element]] = [:]
        for element in elements {
            guard let set = byName[element.set], set.table == element.table, set.family == element.family else {
                throw NFTablesError(
                    code: .invalidTransaction, operation: "replace elements",
                    message: "element \(element.key) of \(element.set) is not in a set being replaced")
            }
            grouped[element.set, default: []].append(element)
        }
        var messages = [message(batchBegin, family: 0, flags: NLM_F_REQUEST, resourceID: subsystem)]
        for set in sets {
            var flush = message(.deleteSetElement, family: set.family, flags: NLM_F_REQUEST | NLM_F_ACK)
            flush.attribute(listTable, string: set.table)
            flush.attribute(listSet, string: set.name)
            messages.append(flush)
        }
        for set in sets {
            guard let members = grouped[set.name], !members.isEmpty else { continue }
            let encode = try encoder(for: set)
            var chunk: [EncodedElement] = []
            var chunkSize = 0
            func emit() {
                guard !chunk.isEmpty else { return }
                var m = message(
                    .newSetElement, family: set.family, flags: NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK)
                m.attribute(listTable, string: set.table)
                m.attribute(listSet, string: set.name)
                m.nested(listElements) { list in
                    for element in chunk { add(element, to: &list) }
                }
                messages.append(m)
                chunk.removeAll(keepingCapacity: true)
                chunkSize = 0
            }
            for element in members {
                let encoded = try encode(element)
                if chunkSize + encoded.size > 48 * 1024 { emit() }
                chunk.append(encoded)
                chunkSize += encoded.size
            }
            emit()
        }
        messages.append(message(batchEnd, family: 0, flags: NLM_F_REQUEST, resourceID: subsystem))
        return messages
    }

    private static func add(_ element: EncodedElement, to list: inout MessageBuilder) {
        list.nested(listElement) { e in
            e.nested(elementKey) { $0.attribute(dataValue, bytes: element.key) }
            if let end = element.keyEnd { e.nested(elementKeyEnd) { $0.attribute(dataValue, bytes: end) } }
            if let value = element.value {
                e.nested(elementData) { $0.attribute(dataValue, bytes: value) }
            } else if let verdict = element.verdict {
                e.nested(elementData) { data in
                    data.nested(dataVerdict) { v in
                        v.attribute(verdictCode, u32: UInt32(bitPattern: verdict.code).bigEndian)
                        if let chain = verdict.chain { v.attribute(verdictChain, string: chain) }
                    }
                }
            }
        }
    }

    static func socket() throws -> NetlinkSocket {
        do {
            return try NetlinkSocket(netlinkProtocol: NETLINK_NETFILTER)
        } catch let error as NetlinkError {
            throw converted(error)
        }
    }

    static func converted(_ error: NetlinkError) -> NFTablesError {
        let code: NFTablesError.Code =
            switch error.errno {
            case ENOENT: .notFound
            case EEXIST: .exists
            case EBUSY: .busy
            default: .commandFailed
            }
        let message = error.kernelMessage.map { "\(error.reason): \($0)" } ?? error.reason
        return NFTablesError(code: code, operation: error.operation, message: message)
    }

    /// Flushes `sets` and adds `elements` to them in one kernel transaction.
    static func replaceElements(of sets: [NFTSet], with elements: [Element]) throws {
        let messages = try replaceBatch(of: sets, with: elements)
        let socket = try socket()
        defer { socket.close() }
        do {
            try socket.batch(messages) { index in
                index == 0 || index == messages.count - 1
                    ? "nftables batch"
                    : index <= sets.count ? "flush set \(sets[index - 1].name)" : "add elements (message \(index))"
            }
        } catch let error as NetlinkError {
            throw converted(error)
        }
    }

    /// The table's comment and the names of its chains and sets; nil when there is no such table.
    static func tableInfo(family: Family, table: String) throws -> NFTTableInfo? {
        let socket = try socket()
        defer { socket.close() }
        do {
            var get = message(.getTable, family: family)
            get.attribute(tableName, string: table)
            let answers: [NetlinkMessage]
            do {
                answers = try socket.request(get, { "get table \(family.rawValue) \(table)" })
            } catch let error as NetlinkError where error.errno == ENOENT {
                return nil
            }
            guard let answer = answers.first else { return nil }
            let comment = Attributes(answer.payload.dropFirst(4))[tableUserData].flatMap(Self.comment)
            var chains = Set<String>()
            for m in try socket.dump(message(.getChain, family: family), { "list chains \(family.rawValue)" }) {
                let a = Attributes(m.payload.dropFirst(4))
                if a.string(chainTable) == table, let name = a.string(chainName) { chains.insert(name) }
            }
            var sets = Set<String>()
            var maps = Set<String>()
            var list = message(.getSet, family: family)
            list.attribute(setTable, string: table)
            for m in try socket.dump(list, { "list sets \(family.rawValue) \(table)" }) {
                let a = Attributes(m.payload.dropFirst(4))
                // Anonymous sets (`{ … }` in a rule) are named `__set<N>`.
                if a.string(setTable) == table, let name = a.string(setName), !name.hasPrefix("__") {
                    sets.insert(name)
                    if let flags = a.u32(setFlags), UInt32(bigEndian: flags) & setFlagMap != 0 { maps.insert(name) }
                }
            }
            return NFTTableInfo(comment: comment, chains: chains, sets: sets, maps: maps)
        } catch let error as NetlinkError {
            throw converted(error)
        }
    }

    /// The comment in a table's user data (libnftnl's TLVs: type, length, value; `NFTNL_UDATA_TABLE_COMMENT` is 0,
    /// its value NUL-terminated).
    static func comment(_ userData: ArraySlice<UInt8>) -> String? {
        var i = userData.startIndex
        while i + 2 <= userData.endIndex {
            let type = userData[i]
            let length = Int(userData[i + 1])
            let start = i + 2
            guard start + length <= userData.endIndex else { return nil }
            if type == 0 {
                let value = userData[start..<(start + length)]
                return String(decoding: value.prefix { $0 != 0 }, as: UTF8.self)
            }
            i = start + length
        }
        return nil
    }
}
