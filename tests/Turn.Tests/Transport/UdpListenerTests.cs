using System.Net;
using Turn.Relay;
using Turn.Server;
using Turn.Transport;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Transport;

public sealed class EpollUdpListenerTests() : UdpListenerTests("epoll");

public sealed class SocketUdpListenerTests() : UdpListenerTests("sockets");

/// <summary>The UDP listening side of each data plane, on real sockets.</summary>
public abstract class UdpListenerTests(string dataPlane) : IDisposable
{
    private readonly TurnMetrics _metrics = new();
    private IDataPlane? _plane;

    [Fact]
    public void BindingRequest_OverLoopback_IsAnsweredWithTheClientsAddress()
    {
        IPEndPoint server = Start(IPAddress.Loopback, shards: 2);
        using var client = new StunClientSocket(IPAddress.Loopback);

        client.Send(StunClientSocket.BindingRequest(), server);
        (byte[] data, IPEndPoint from) = client.Receive();

        Assert.Equal(server, from);
        Assert.Equal(client.LocalEndPoint, MappedAddress(data));
    }

    [Fact]
    public void BindingRequest_OverIpv6Loopback_IsAnswered()
    {
        IPEndPoint server = Start(IPAddress.IPv6Loopback, shards: 1);
        using var client = new StunClientSocket(IPAddress.IPv6Loopback);

        client.Send(StunClientSocket.BindingRequest(), server);

        Assert.Equal(client.LocalEndPoint, MappedAddress(client.Receive().Data));
    }

    [Fact]
    public void GarbageDatagrams_AreDroppedAndTheLoopGoesOn()
    {
        IPEndPoint server = Start(IPAddress.Loopback, shards: 1);
        using var client = new StunClientSocket(IPAddress.Loopback);
        var random = new Random(5);
        for (int i = 0; i < 2000; i++)
        {
            byte[] junk = new byte[random.Next(0, 600)];
            random.NextBytes(junk);
            if (junk.Length > 0 && i % 2 == 0)
            {
                junk[0] &= 0x3F;
            }

            client.Send(junk, server);
        }

        // The kernel may drop some of the burst; ask until answered. Random bytes that happen
        // to form a request are answered too, so look for the answer to ours.
        byte[] request = StunClientSocket.BindingRequest();
        client.Socket.ReceiveTimeout = 200;
        byte[]? answer = null;
        for (int attempt = 0; attempt < 20 && answer is null; attempt++)
        {
            client.Send(request, server);
            answer = ReceiveAnswerTo(client, request);
        }

        Assert.NotNull(answer);
    }

    [Fact]
    public void ChangeRequest_OnTheRfc5780Grid_IsAnsweredFromTheOtherAddressAndPort()
    {
        // 127.0.0.2 is loopback on Linux, so the whole grid fits on one host.
        _plane = TestDataPlanes.Create(dataPlane);
        IUdpEndpoint primary = _plane.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(IPAddress.Loopback, 0), 0));
        int port = primary.LocalEndPoint.Port;
        IUdpEndpoint primaryAlt = _plane.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(IPAddress.Loopback, 0), 1));
        int altPort = primaryAlt.LocalEndPoint.Port;
        IPAddress second = IPAddress.Parse("127.0.0.2");
        _plane.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(second, port), 2));
        _plane.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(second, altPort), 3));
        var grid = new NatBehaviorAddresses(
            StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, port)),
            StunAddress.FromIPEndPoint(new IPEndPoint(second, port)),
            (ushort)altPort);
        var handler = new StunRequestHandler(new StunServerSettings("turn", grid));
        _plane.Start(new PacketPath(handler, _metrics));

        using var client = new StunClientSocket(IPAddress.Loopback);
        byte[] change = [0, 0, 0, 0x06];
        client.Send(StunClientSocket.BindingRequest(b => b.Add(StunAttributeType.ChangeRequest, change)), primary.LocalEndPoint);
        (byte[] data, IPEndPoint from) = client.Receive();

        Assert.Equal(new IPEndPoint(second, altPort), from);
        StunMessage.TryParse(data, out StunMessage response);
        Assert.True(response.TryGetAttribute(StunAttributeType.ResponseOrigin, out ReadOnlySpan<byte> origin));
        AddressAttribute.TryRead(origin, out StunAddress originAddress);
        Assert.Equal(new IPEndPoint(second, altPort), originAddress.ToIPEndPoint());
        Assert.True(response.TryGetAttribute(StunAttributeType.OtherAddress, out ReadOnlySpan<byte> other));
        AddressAttribute.TryRead(other, out StunAddress otherAddress);
        Assert.Equal(new IPEndPoint(second, altPort), otherAddress.ToIPEndPoint());
    }

    [Fact]
    public void Dispose_StopsTheReceiveThreadsPromptly()
    {
        IPEndPoint server = Start(IPAddress.Loopback, shards: 2);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        _plane!.Dispose();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"stopping took {clock.Elapsed}");
        using var client = new StunClientSocket(IPAddress.Loopback);
        client.Socket.ReceiveTimeout = 300;
        client.Send(StunClientSocket.BindingRequest(), server);
        Assert.Throws<System.Net.Sockets.SocketException>(() => client.Receive());
    }

    private static byte[]? ReceiveAnswerTo(StunClientSocket client, byte[] request)
    {
        while (true)
        {
            byte[] data;
            try
            {
                data = client.Receive().Data;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return null;
            }

            if (data.Length >= 20 && data.AsSpan(8, 12).SequenceEqual(request.AsSpan(8, 12)))
            {
                return data;
            }
        }
    }

    private IPEndPoint Start(IPAddress address, int shards)
    {
        _plane = TestDataPlanes.Create(dataPlane, shards);
        IUdpEndpoint listener = _plane.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(address, 0), -1));
        _plane.Start(new PacketPath(new StunRequestHandler(new StunServerSettings("turn", null)), _metrics));
        return listener.LocalEndPoint;
    }

    internal static IPEndPoint MappedAddress(byte[] response)
    {
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(response, out StunMessage message));
        Assert.True(message.TryGetAttribute(StunAttributeType.XorMappedAddress, out ReadOnlySpan<byte> value));
        Assert.True(AddressAttribute.TryReadXor(value, message.CookieAndTransactionId, out StunAddress mapped));
        return mapped.ToIPEndPoint();
    }

    public void Dispose()
    {
        _plane?.Dispose();
        _metrics.Dispose();
        GC.SuppressFinalize(this);
    }
}
