using System.Net;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Server;
using Turn.Tests.Server;
using Turn.Transport;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Transport;

/// <summary>
/// RFC 8656 §11.5 over real loopback sockets: a datagram relayed to a port nobody listens on
/// draws an ICMP port unreachable, and the client gets a Data indication naming the peer with
/// the ICMP type and code; the allocation goes on relaying.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class IcmpReportTests
{
    [Theory]
    [MemberData(nameof(TestDataPlanes.Names), MemberType = typeof(TestDataPlanes))]
    public void SendToAClosedPeerPort_ReachesTheClientAsADataIndicationWithIcmp(string dataPlane)
    {
        using var metrics = new TurnMetrics();
        using IDataPlane plane = TestDataPlanes.Create(dataPlane);
        using var ports = new UdpRelayPorts(IPAddress.Loopback, null, RelayPathHeapAllocationTests.RelayPortMin, RelayPathHeapAllocationTests.RelayPortMax, RelayClock.System, plane);
        IUdpEndpoint listener = plane.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(IPAddress.Loopback, 0), -1));
        RelayServices relay = RelayPathHeapAllocationTests.Compose(listener.LocalEndPoint, ports);
        plane.Start(new PacketPath(new StunRequestHandler(new StunServerSettings("turn", null), relay), metrics));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000 };
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        StunAddress closed = ClosedPort();
        TurnReply challenge = Call(client, listener.LocalEndPoint, TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp));
        TurnReply allocated = Call(client, listener.LocalEndPoint, TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge.Challenge));
        Assert.True(allocated.IsSuccess, allocated.ToString());
        TurnReply permitted = Call(client, listener.LocalEndPoint, TurnMessages.Signed(
            StunMethod.CreatePermission,
            TurnMessages.TransactionId(),
            (ref StunWriter w) => w.AddXorAddress(StunAttributeType.XorPeerAddress, closed),
            TurnTestHarness.Alice,
            challenge.Challenge));
        Assert.True(permitted.IsSuccess, permitted.ToString());

        client.SendTo(TurnMessages.SendIndication(closed, [1, 2, 3, 4]), listener.LocalEndPoint);

        byte[] buffer = new byte[2048];
        int length = client.Receive(buffer);
        var indication = new TurnReply(buffer.AsSpan(0, length).ToArray());
        Assert.Equal(StunMethod.Data, indication.Method);
        Assert.Equal(StunClass.Indication, indication.Class);
        Assert.Equal(closed, indication.XorAddress(StunAttributeType.XorPeerAddress));
        Assert.False(indication.Has(StunAttributeType.Data));
        Assert.True(TurnAttributes.TryReadIcmp(indication.Required(StunAttributeType.Icmp), out byte type, out byte code, out _));
        Assert.Equal(3, type);
        Assert.Equal(3, code);
        foreach (Allocation allocation in relay.Allocations.All)
        {
            relay.Allocations.Remove(allocation, AllocationEnd.Shutdown, 0);
        }
    }

    private static StunAddress ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return StunAddress.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!);
    }

    private static TurnReply Call(Socket client, IPEndPoint server, byte[] request)
    {
        client.SendTo(request, server);
        byte[] buffer = new byte[2048];
        int length = client.Receive(buffer);
        return new TurnReply(buffer.AsSpan(0, length).ToArray());
    }
}
