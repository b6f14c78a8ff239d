using System.Net.Security;
using System.Net.Sockets;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Turn.Relay;
using Turn.Server;
using Turn.Transport;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Transport;

public sealed class EpollStreamListenerTests() : StreamListenerTests("epoll");

public sealed class SocketStreamListenerTests() : StreamListenerTests("sockets");

/// <summary>TCP and TLS clients on real sockets: with the Linux data plane plain TCP clients are served by its threads, otherwise by async loops.</summary>
public abstract class StreamListenerTests(string dataPlane) : IAsyncDisposable
{
    private readonly List<StreamListener> _listeners = [];
    private readonly TurnMetrics _metrics = new();
    private IDataPlane? _plane;

    [Fact]
    public async Task SeveralRequestsInOneWrite_AreEachAnsweredInOrder()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null);
        using var client = await Connect(server);
        await using var stream = new NetworkStream(client);
        byte[][] requests = [StunClientSocket.BindingRequest(), StunClientSocket.BindingRequest(), StunClientSocket.BindingRequest()];

        await stream.WriteAsync(requests.SelectMany(r => r).ToArray());

        foreach (byte[] request in requests)
        {
            byte[] response = await ReadFrame(stream);
            Assert.Equal(request.AsSpan(8, 12).ToArray(), response.AsSpan(8, 12).ToArray());
            Assert.Equal(client.LocalEndPoint, UdpListenerTests.MappedAddress(response));
        }
    }

    [Fact]
    public async Task RequestSentOneByteAtATime_IsAnswered()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null);
        using var client = await Connect(server);
        await using var stream = new NetworkStream(client);
        byte[] request = StunClientSocket.BindingRequest();

        foreach (byte b in request)
        {
            await stream.WriteAsync(new[] { b });
            await stream.FlushAsync();
        }

        Assert.Equal(request.AsSpan(8, 12).ToArray(), (await ReadFrame(stream)).AsSpan(8, 12).ToArray());
    }

    [Fact]
    public async Task LargeRequest_GrowsTheBufferAndIsAnswered()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null);
        using var client = await Connect(server);
        await using var stream = new NetworkStream(client);
        byte[] request = new byte[12_000];
        var writer = StunWriter.Create(request, StunMethod.Binding, StunClass.Request, RandomNumberGenerator.GetBytes(12));
        writer.AddBytes((StunAttributeType)0x8F00, new byte[10_000]);
        writer.AddFingerprint();

        await stream.WriteAsync(request.AsMemory(0, writer.Length));

        Assert.Equal(request.AsSpan(8, 12).ToArray(), (await ReadFrame(stream)).AsSpan(8, 12).ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0x00, 0x01, 0x00, 0x08, 0xDE, 0xAD, 0xBE, 0xEF })]
    public async Task BytesThatAreNotStun_CloseTheConnection(byte[] junk)
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null);
        using var client = await Connect(server);
        await using var stream = new NetworkStream(client);

        await stream.WriteAsync(junk);

        byte[] buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.Equal(0, await stream.ReadAsync(buffer, timeout.Token));
    }

    [Fact]
    public async Task ConnectionsBeyondTheLimit_AreRefused()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null, maxConnections: 1);
        using var first = await Connect(server);
        await using var firstStream = new NetworkStream(first);
        await firstStream.WriteAsync(StunClientSocket.BindingRequest());
        await ReadFrame(firstStream);

        using var second = await Connect(server);
        await using var secondStream = new NetworkStream(second);
        byte[] buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int read;
        try
        {
            read = await secondStream.ReadAsync(buffer, timeout.Token);
        }
        catch (IOException)
        {
            read = 0;
        }

        Assert.Equal(0, read);
    }

    [Fact]
    public async Task ConnectionThatSendsNothing_IsClosedAtTheFirstMessageDeadline()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null, firstMessage: TimeSpan.FromMilliseconds(300));
        using var client = await Connect(server);
        await using var stream = new NetworkStream(client);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.Equal(0, await stream.ReadAsync(new byte[16], timeout.Token));
    }

    [Fact]
    public async Task TrickleThatNeverCompletesAMessage_DoesNotHoldTheConnection()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null, firstMessage: TimeSpan.FromMilliseconds(500), idle: TimeSpan.FromMilliseconds(500));
        using var client = await Connect(server);
        client.NoDelay = true;

        // A STUN header announcing 1,000 bytes of attributes, then one byte every 50 ms: each
        // read would have reset a timer that counted bytes; none completes the message.
        byte[] header = StunClientSocket.BindingRequest().AsSpan(0, 20).ToArray();
        header[2] = 0x03;
        header[3] = 0xE8;
        var started = System.Diagnostics.Stopwatch.StartNew();
        bool closed = false;
        for (int i = 0; !closed && started.Elapsed < TimeSpan.FromSeconds(20); i++)
        {
            try
            {
                client.Send(i < header.Length ? header.AsSpan(i, 1) : [0]);
            }
            catch (SocketException)
            {
                closed = true;
            }

            closed |= client.Poll(50_000, SelectMode.SelectRead) && client.Available == 0;
        }

        Assert.True(closed, "a trickle held the connection for 20 s against a 0.5 s deadline");
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(400), $"closed after {started.Elapsed}, before the deadline");
    }

    [Fact]
    public async Task CompleteMessages_KeepTheConnection_AndSilenceAfterThemClosesIt()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null, firstMessage: TimeSpan.FromSeconds(2), idle: TimeSpan.FromSeconds(2));
        using var client = await Connect(server);
        await using var stream = new NetworkStream(client);
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 5; i++)
        {
            await stream.WriteAsync(StunClientSocket.BindingRequest());
            await ReadFrame(stream);
            await Task.Delay(700);
        }

        // Alive past both deadlines because each message renewed it; then closed by silence.
        Assert.True(started.Elapsed > TimeSpan.FromSeconds(3));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await stream.ReadAsync(new byte[16], timeout.Token));
    }

    [Fact]
    public async Task OneAddress_PastItsConnectionCap_IsRefused_WhileAnotherAddressGetsIn()
    {
        IPEndPoint server = Start(TransportProtocol.Tcp, null, maxConnections: 10, perAddress: 3);
        var held = new List<Socket>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                held.Add(await Connect(server));
            }

            using Socket refused = await Connect(server);
            await using var refusedStream = new NetworkStream(refused);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            Assert.Equal(0, await refusedStream.ReadAsync(new byte[16], timeout.Token));

            using var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            other.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            await other.ConnectAsync(server);
            await using var stream = new NetworkStream(other);
            await stream.WriteAsync(StunClientSocket.BindingRequest());
            byte[] response = await ReadFrame(stream);
            Assert.Equal(other.LocalEndPoint, UdpListenerTests.MappedAddress(response));
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task BindingRequest_OverTls_IsAnswered()
    {
        using X509Certificate2 certificate = SelfSigned();
        IPEndPoint server = Start(TransportProtocol.Tls, new CertificateHolder(certificate));
        using var client = await Connect(server);
        await using var ssl = new SslStream(new NetworkStream(client), false, (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        byte[] request = StunClientSocket.BindingRequest();

        await ssl.WriteAsync(request);

        byte[] response = await ReadFrame(ssl);
        Assert.Equal(client.LocalEndPoint, UdpListenerTests.MappedAddress(response));
    }

    internal static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private IPEndPoint Start(TransportProtocol protocol, CertificateHolder? certificate, int maxConnections = 100, TimeSpan? idle = null, TimeSpan? firstMessage = null, int perAddress = 100)
    {
        var limits = new StreamLimits(maxConnections, idle ?? TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5))
        {
            FirstMessageTimeout = firstMessage ?? TimeSpan.FromSeconds(10),
            MaxConnectionsPerAddress = perAddress,
        };
        StreamListener listener = StreamListener.Bind(new ListenEndpoint(protocol, new IPEndPoint(IPAddress.Loopback, 0), -1), limits, certificate);
        _listeners.Add(listener);
        var path = new PacketPath(new StunRequestHandler(new StunServerSettings("turn", null)), _metrics);
        if (_plane is null)
        {
            _plane = TestDataPlanes.Create(dataPlane);
            _plane.Start(path);
        }

        listener.Start(path, NullLogger.Instance, _plane);
        return listener.LocalEndPoint;
    }

    private static async Task<Socket> Connect(IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server);
        return socket;
    }

    private static async Task<byte[]> ReadFrame(Stream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        byte[] header = new byte[20];
        await stream.ReadExactlyAsync(header, timeout.Token);
        int length = (header[2] << 8) | header[3];
        byte[] frame = new byte[20 + length];
        header.CopyTo(frame, 0);
        await stream.ReadExactlyAsync(frame.AsMemory(20), timeout.Token);
        return frame;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (StreamListener listener in _listeners)
        {
            await listener.DisposeAsync();
        }

        _plane?.Dispose();
        _metrics.Dispose();
        GC.SuppressFinalize(this);
    }
}
