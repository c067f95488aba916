import NIOCore

/// The UDP side of `weft serve`: each datagram is an `EchoCommand`, answered with one datagram to its sender.
final class EchoUDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let podName: String

    init(podName: String) { self.podName = podName }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        let message = String(buffer: request.data)
        guard let reply = EchoCommand.reply(to: message, podName: podName, client: request.remoteAddress) else {
            return
        }
        let answer = AddressedEnvelope(
            remoteAddress: request.remoteAddress, data: context.channel.allocator.buffer(string: reply))
        context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
    }

    /// A failed read or write concerns one datagram (a client that went away): keep serving the others.
    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}
