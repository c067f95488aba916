import DNS
import Testing

@testable import ClusterDNS

struct ClusterZoneConfigurationTests {
    @Test func defaultsAreTheSpecificationsUsualOnes() {
        let configuration = ClusterZoneConfiguration()
        #expect(configuration.zone.description == "cluster.local." && configuration.ttl == 30)
    }
}
