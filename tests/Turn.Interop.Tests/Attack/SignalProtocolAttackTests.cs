using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Turn.Signal;
using Turn.Tests.Interop;
using Turn.Tests.Signal;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// The signaling protocol attacked through a running daemon: DNS rebinding, a resumed seat's old
/// connection, strings the JSON reader chokes on, oversized and too-fast messages, and bad frames.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class SignalProtocolAttackTests
{
    private const string ApiKey = "protocol-api-key-0123456789-0123456789";

    [Fact]
    public async Task ARequestNamingAnotherHost_IsRefused_ButTheConfiguredNamesAreServed()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            config =>
            {
                config["Http"]!["AllowedHosts"] = new JsonArray("signal.example.test");
                config["Signal"] = new JsonObject { ["ApiKey"] = ApiKey };
            },
            http: true);

        // A page of rebind.attacker.example, once its name resolves to this server, with its own Origin.
        string rebound = $"rebind.attacker.example:{daemon.HttpPort}";
        foreach (string request in new[]
        {
            $"GET /signal HTTP/1.1\r\nHost: {rebound}\r\nOrigin: http://{rebound}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            $"GET /api/ice-servers HTTP/1.1\r\nHost: {rebound}\r\nOrigin: http://{rebound}\r\n\r\n",
            $"GET /api/rooms HTTP/1.1\r\nHost: {rebound}\r\nAuthorization: Bearer {ApiKey}\r\n\r\n",
            $"GET / HTTP/1.1\r\nHost: {rebound}\r\n\r\n",
        })
        {
            Assert.StartsWith("HTTP/1.1 400", await RawAsync(daemon.HttpPort, request), StringComparison.Ordinal);
        }

        Assert.StartsWith("HTTP/1.1 200", await RawAsync(daemon.HttpPort, $"GET /healthz HTTP/1.1\r\nHost: signal.example.test:{daemon.HttpPort}\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 101", await RawAsync(daemon.HttpPort, $"GET /signal HTTP/1.1\r\nHost: 127.0.0.1:{daemon.HttpPort}\r\nOrigin: http://127.0.0.1:{daemon.HttpPort}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"), StringComparison.Ordinal);

        // An allowed Host with the attacker's Origin is still refused: the Origin must be this server's.
        Assert.StartsWith("HTTP/1.1 403", await RawAsync(daemon.HttpPort, $"GET /signal HTTP/1.1\r\nHost: 127.0.0.1:{daemon.HttpPort}\r\nOrigin: http://{rebound}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AfterAResume_TheOldConnectionCanDoNothingToTheSeat()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Signal"] = new JsonObject { ["ApiKey"] = ApiKey }, http: true);
        await using SignalTestClient a = await SignalTestClient.ConnectAsync(daemon.Signal);
        await a.JoinAsync("standup", "Ann");
        await using SignalTestClient bob = await SignalTestClient.ConnectAsync(daemon.Signal);
        await bob.JoinAsync("standup", "Bob");
        await a.ExpectAsync("peer-joined");

        // C takes the seat while A's connection is still open; then A tries to leave and to speak
        // (until the server has closed A). A leave that A sent before the resume was handled would
        // be A's own to make, so A's attempts start once C holds the seat.
        await using SignalTestClient c = await SignalTestClient.ConnectAsync(daemon.Signal);
        await c.ResumeAsync(a.ResumeToken);
        for (int i = 0; i < 50 && !a.Ended.IsCompleted; i++)
        {
            try
            {
                await a.SendAsync("""{"type":"leave","id":"l"}""");
                await a.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","id":"m"}""");
            }
            catch (WebSocketException)
            {
                break;
            }
        }

        await a.Ended.WaitAsync(TimeSpan.FromSeconds(5));

        // Bob saw no one leave; the seat is C's, listed and counted; C still speaks as that id.
        await c.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"from c"}""");
        ServerMessage fromC = await bob.ExpectAsync("message");
        Assert.Equal(a.Id, fromC.Str("from"));
        Assert.DoesNotContain(await bob.SyncAsync(), m => m.Type == "peer-left");
        using var http = new HttpClient { BaseAddress = daemon.Http };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        string room = await http.GetStringAsync(new Uri("api/rooms/standup", UriKind.Relative));
        Assert.Contains(a.Id, room, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StringsTheJsonReaderRefuses_GetBadJson_AndNoErrorLine()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(http: true);
        await using SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);
        await client.JoinAsync("standup");

        foreach (string field in new[] { "type", "id", "room", "to", "name", "token", "resume", "\\ud800" })
        {
            string message = field.StartsWith('\\') ? $$"""{"{{field}}":1,"type":"ping"}""" : $$"""{"type":"join","{{field}}":"\ud800"}""";
            for (int i = 0; i < 20; i++)
            {
                await client.SendAsync(message);
            }
        }

        // Every one of them (or the rate limit) answered, none with internal-error, and the connection lives.
        await Task.Delay(1100);
        IReadOnlyList<ServerMessage> answers = await client.SyncAsync();
        Assert.DoesNotContain(answers, m => m.Type == "error" && m.Str("code") == SignalError.Internal);
        Assert.Contains(answers, m => m.Type == "error" && m.Str("code") == SignalError.BadJson);
        Assert.DoesNotContain(" fail: ", daemon.Process.StandardOutput, StringComparison.Ordinal);
        Assert.True(Count(daemon.Process.StandardOutput, " warn: ") < 5, daemon.Process.StandardOutput);
    }

    [Fact]
    public async Task TooLargeMessages_CountAgainstTheRate()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Signal"] = new JsonObject { ["MessagesPerSecond"] = 5, ["MaxMessageBytes"] = 1024 }, http: true);
        await using SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);
        string large = $$"""{"type":"ping","pad":"{{new string('x', 2000)}}"}""";

        for (int i = 0; i < 40; i++)
        {
            await client.SendAsync(large);
        }

        await Task.Delay(1100);
        IReadOnlyList<ServerMessage> answers = await client.SyncAsync();

        // The burst (10, and what refills meanwhile) is answered too-large, then rate-limited: not 40 answers.
        Assert.InRange(answers.Count(m => m.Type == "error" && m.Str("code") == SignalError.TooLarge), 10, 16);
        Assert.Contains(answers, m => m.Type == "error" && m.Str("code") == SignalError.RateLimited);
    }

    [Fact]
    public async Task ATextFrameThatIsNotUtf8_ClosesTheConnectionWith1007()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(http: true);
        await using SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);

        await client.SendAsync([(byte)'{', 0xC3, 0x28, (byte)'}'], WebSocketMessageType.Text);
        await client.Ended.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, client.CloseStatus);
    }

    private static int Count(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>Sends one hand-written HTTP/1.1 request and returns what came back first.</summary>
    private static async Task<string> RawAsync(int port, string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
