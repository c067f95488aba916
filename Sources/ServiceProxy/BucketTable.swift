/// How a service frontend's new connections are spread over its endpoints without a chain per service: the
/// packet picks a bucket with `numgen random mod W`, and a map sends each bucket to one endpoint. W, the
/// frontend's width, is its endpoint count when that is at most `exactLimit` — one bucket per endpoint, every
/// share exactly even — and beyond that a power of two with at least five buckets per endpoint, so that every
/// endpoint gets ⌊W/E⌋ or ⌈W/E⌉ buckets and each share stays within ±20 % of even (the bound is reached only
/// when an endpoint has exactly five buckets and another six). One dispatch chain per width in use serves every
/// frontend with that width.
public enum BucketTable {
    /// Up to this many endpoints, one bucket each.
    public static let exactLimit = 64
    public static let bucketsPerEndpoint = 5
    /// Every width a frontend can have: 1…64, then powers of two up to 8,192 (1,638 endpoints at five each).
    public static let widths = Array(1...exactLimit) + [128, 256, 512, 1024, 2048, 4096, 8192]

    /// The width for `endpoints` endpoints (at least 1).
    public static func size(forEndpoints endpoints: Int) -> Int {
        if endpoints <= exactLimit { return max(endpoints, 1) }
        var size = 128
        while size < endpoints * bucketsPerEndpoint && size < widths.last! { size *= 2 }
        return size
    }

    /// Bucket `i` → endpoint index `i mod E`, for `size` buckets over `endpoints` endpoints.
    public static func assignment(size: Int, endpoints: Int) -> [Int] {
        guard endpoints > 0 else { return [] }
        return (0..<size).map { $0 % endpoints }
    }

    /// The share of new connections each endpoint gets, relative to an even share (1.0 = even).
    public static func relativeShares(endpoints: Int) -> [Double] {
        let size = size(forEndpoints: endpoints)
        var counts = [Int](repeating: 0, count: endpoints)
        for index in assignment(size: size, endpoints: endpoints) { counts[index] += 1 }
        let even = Double(size) / Double(endpoints)
        return counts.map { Double($0) / even }
    }
}
