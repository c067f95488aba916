/// How a service port's new connections are spread over its endpoints without a chain per service: the packet
/// picks a bucket with `numgen random mod B`, and a map sends each bucket to one endpoint. `B` is a power of two
/// per service, at least 16 and at least five buckets per endpoint, so that every endpoint gets ⌊B/E⌋ or ⌈B/E⌉
/// buckets: each share stays within ±20 % of even (the bound is reached only when an endpoint has exactly five
/// buckets and another six; more buckets per endpoint narrow it) for any endpoint count. One rule per bucket size
/// in use serves every service with that size.
public enum BucketTable {
    public static let minimumBuckets = 16
    public static let bucketsPerEndpoint = 5

    /// The bucket count for `endpoints` endpoints (16 for none or few).
    public static func size(forEndpoints endpoints: Int) -> Int {
        var size = minimumBuckets
        while size < endpoints * bucketsPerEndpoint { size *= 2 }
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
