using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// Upgrades served outside Kestrel's connections, or taken at a Kestrel connection before HTTP,
/// over real sockets. The tells: Kestrel's HTTP answers 101 with a Date header (the others send
/// only Connection, Upgrade and Sec-WebSocket-Accept), and Kestrel logs every connection it
/// starts (Kestrel.Connections, event 1), which an upgrade served outside it never is.
/// </summary>
public sealed class SignalUpgradeTests
{
    private static bool AnsweredByHttp(SignalTestClient client) => client.Socket.HttpResponseHeaders!.ContainsKey("Date");

    private static int KestrelConnections(SignalTestServer server) => server.Log.Lines.Count(l => l.Contains("Kestrel.Connections[1]", StringComparison.Ordinal));

    [Fact]
    public async Task APlainUpgrade_IsServedOutsideKestrel_AndAHeadInPieces_AtAKestrelConnection()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using SignalTestClient ann = await server.JoinAsync("lobby", "Ann");
        Assert.False(AnsweredByHttp(ann));
        Assert.Equal(0, KestrelConnections(server));

        // The head in two writes: the first look sees half of it, so the socket goes to Kestrel,
        // whose connection middleware waits for the rest and takes the upgrade before HTTP.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Http.Port);
        NetworkStream stream = tcp.GetStream();
        string head = Head(server);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head[..30]));
        await Task.Delay(200);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head[30..]));
        string response = await ReadHead(stream);
        Assert.StartsWith("HTTP/1.1 101 ", response, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\nDate:", response, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, KestrelConnections(server));
        using WebSocket socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false });
        await socket.SendAsync("""{"type":"join","room":"lobby"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("joined", (await Receive(socket)).Type);
        await ann.ExpectAsync("peer-joined");
    }

    [Fact]
    public async Task WhatTheUpgradePathsLeave_TheEndpointServes_InTheSameRooms()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using SignalTestClient ann = await server.JoinAsync("lobby", "Ann");
        Assert.False(AnsweredByHttp(ann));

        // Another spelling of the path is the endpoint's (routes match without case).
        Uri upper = new UriBuilder(server.Signal) { Path = server.Options.Path.ToUpperInvariant() }.Uri;
        await using SignalTestClient bob = await SignalTestClient.ConnectAsync(upper);
        Assert.True(AnsweredByHttp(bob));
        await bob.JoinAsync("lobby", "Bob");
        ServerMessage joined = await ann.ExpectAsync("peer-joined");
        Assert.Equal(bob.Id, joined.Get("peer").GetProperty("id").GetString());

        await bob.SendAsync($$"""{"type":"message","to":"{{ann.Id}}","data":"hi"}""");
        ServerMessage message = await ann.ExpectAsync("message");
        Assert.Equal("hi", message.Get("data").GetString());

        // Plain HTTP on the same port is untouched.
        using HttpClient http = server.HttpClient();
        using HttpResponseMessage script = await http.GetAsync(new Uri("/signal.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal(2, server.Hub.Snapshot("lobby")[0].Peers.Count);
    }

    [Fact]
    public async Task WithoutIt_EveryUpgradeGoesThroughTheEndpoint()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions(), upgradeAtConnection: false);
        await using SignalTestClient ann = await server.JoinAsync("lobby");
        Assert.True(AnsweredByHttp(ann));
    }

    [Fact]
    public async Task AFrameSentWithTheHead_IsReadAsTheFirstMessage()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Http.Port);
        NetworkStream stream = tcp.GetStream();
        string head = Head(server);
        byte[] join = """{"type":"join","room":"first"}"""u8.ToArray();
        byte[] mask = [1, 2, 3, 4];
        byte[] frame = [0x81, (byte)(0x80 | join.Length), .. mask, .. join.Select((b, i) => (byte)(b ^ mask[i % 4]))];
        await stream.WriteAsync((byte[])[.. Encoding.ASCII.GetBytes(head), .. frame]);

        string response = await ReadHead(stream);
        Assert.StartsWith("HTTP/1.1 101 ", response, StringComparison.Ordinal);
        Assert.Contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", response, StringComparison.Ordinal);
        using WebSocket socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false });
        Assert.Equal("joined", (await Receive(socket)).Type);
        Assert.Equal(0, KestrelConnections(server));
    }

    private static string Head(SignalTestServer server)
        => $"GET {server.Options.Path} HTTP/1.1\r\nHost: {server.Http.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    private static async Task<ServerMessage> Receive(WebSocket socket)
    {
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        ValueWebSocketReceiveResult received = await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token);
        return new ServerMessage(Encoding.UTF8.GetString(buffer, 0, received.Count));
    }

    [Fact]
    public async Task ClientsThatVanishOrSendGarbage_LeaveTheListenerServing()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        string head = Head(server);
        byte[][] starts =
        [
            [],
            Encoding.ASCII.GetBytes(head[..20]),
            Encoding.ASCII.GetBytes(head),
            [0x16, 0x03, 0x01, 0x00, 0xff],
            Encoding.ASCII.GetBytes(head.Replace("13", "99", StringComparison.Ordinal)),
        ];
        for (int round = 0; round < 4; round++)
        {
            foreach (byte[] start in starts)
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, server.Http.Port);
                if (start.Length > 0)
                {
                    await tcp.GetStream().WriteAsync(start);
                }

                // Half of them reset instead of closing.
                if (round % 2 == 0)
                {
                    tcp.Client.LingerState = new LingerOption(true, 0);
                }
            }
        }

        await using SignalTestClient ann = await server.JoinAsync("after");
        Assert.False(AnsweredByHttp(ann));
        using HttpClient http = server.HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/signal.js", UriKind.Relative))).StatusCode);
        Assert.DoesNotContain(server.Log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, "127.0.0.1", true)]
    [InlineData(true, "198.51.100.7", false)]
    [InlineData(true, "198.51.100.7, 127.0.0.1", false)]
    [InlineData(false, "127.0.0.1", false)]
    public async Task BehindATrustedProxy_TheForwardedAddressDecidesWhetherTheClientIsOnThisHost(bool trusted, string forwardedFor, bool admitted)
    {
        // Without a join token secret only clients on this host may join.
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions(), trustedProxy: trusted ? IPAddress.IsLoopback : null);
        await using SignalTestClient client = await SignalTestClient.ConnectAsync(server.Signal, headers: [new("X-Forwarded-For", forwardedFor)]);
        Assert.False(AnsweredByHttp(client));
        await client.SendAsync("""{"type":"join","room":"lobby"}""");
        ServerMessage answer = await client.NextAsync();
        Assert.Equal(admitted ? "joined" : "error", answer.Type);
        if (!admitted)
        {
            Assert.Equal(SignalError.BadToken, answer.Get("code").GetString());
        }
    }

    private static async Task<string> ReadHead(NetworkStream stream)
    {
        var head = new StringBuilder();
        byte[] one = new byte[1];
        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.Equal(1, await stream.ReadAsync(one, timeout.Token));
            head.Append((char)one[0]);
        }

        return head.ToString();
    }
}
