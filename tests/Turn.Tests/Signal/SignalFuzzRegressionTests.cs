using System.Net.WebSockets;
using System.Text.Unicode;
using Turn.Signal;
using Turn.Tests.Wire;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// Client messages from fuzzing the signaling parser (tests/Fuzz, target "signal"), kept as hex
/// under Vectors/fuzz/signal/: those that once made ClientMessage.TryParse throw, and corpus
/// entries that reached new code. Each goes over a real WebSocket as one message, text when it is
/// UTF-8 and binary otherwise (the WebSocket layer closes a connection that sends a text frame that
/// is not UTF-8, RFC 6455 §8.1, so only a binary frame brings such bytes to the server); the server
/// must answer with a status of its own ("bad-json" and the like, never "internal-error", which
/// means the handling threw) and the connection must go on working.
/// </summary>
public sealed class SignalFuzzRegressionTests
{
    private const string Folder = "signal";

    public static TheoryData<string> Inputs => FuzzRegressionTests.Names(Folder);

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task FuzzedMessage_IsAnsweredWithoutAnInternalErrorAndTheConnectionStillWorks(string name)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using SignalTestClient ann = await server.ConnectAsync();

        byte[] message = FuzzRegressionTests.Load(Folder, name);
        await ann.SendAsync(message, Utf8.IsValid(message) ? WebSocketMessageType.Text : WebSocketMessageType.Binary);

        IReadOnlyList<ServerMessage> answers = await ann.SyncAsync();
        foreach (ServerMessage answer in answers)
        {
            Assert.False(answer.Type == "error" && answer.Str("code") == SignalError.Internal, $"{name}: {answer.Raw}");
        }
    }
}
